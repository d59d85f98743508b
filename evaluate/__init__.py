"""xplus.evaluate: FLORES translation and its scores (spBLEU, chrF++, xCOMET)."""

"""Sentence scorers behind `newsbrief.summarize`: stock sumy algorithms and newsbrief's own."""

"""Sentence scorers behind `newsbrief.text.summarize`: stock sumy algorithms and newsbrief's own."""

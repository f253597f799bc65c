"""The fits-stats example app: statistics and a preview of a FITS file."""

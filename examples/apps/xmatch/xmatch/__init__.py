"""The xmatch example app: nearest-neighbour sky cross-match of two catalogues."""

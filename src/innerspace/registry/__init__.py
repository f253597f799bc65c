"""VO registry side of innerspace: VOSI endpoints now; VOResource records, OAI-PMH and
RegTAP later."""

"""The VO registry side of innerspace: the data centre's VOResource records (`resources`,
kept with dates and deletions by `store`), published over OAI-PMH (`oai`), harvested from
peers (`harvest`, talking to them within limits through `peer`; `incremental`: into the
index page by page, only what changed since the last harvest), searchable through RegTAP
(`regtap`, whose queries run in worker processes: `sandbox`), and kept in step by
`publishing`. `routes` (and each protocol package's `routes`) are the HTTP side; `errors`
holds the registry's errors."""

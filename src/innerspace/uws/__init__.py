"""IVOA UWS 1.1: the job model and its state machine, the job store, the scheduler that
drives jobs through an engine, the HTTP routes and the XML documents."""

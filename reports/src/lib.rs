//! Reports built from the event log and metrics stream (filled in by the scenarios issue).

//! The kubesim scenario format and its loaders (filled in by the scenarios issue).

//! Sieve filtering (RFC 5228) of delivered mail: see `run_sieve`.

//! zcs backup and restore (grows with issue 9).

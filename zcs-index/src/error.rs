//! `IndexError`, the errors of the index backends, and their mapping onto Zimbra fault
//! codes (`service.FAILURE`, `mail.QUERY_PARSE_ERROR`).

use zcs_core::{FaultCode, ServiceError};

use crate::query::QueryParseError;

/// What went wrong in an index operation; each variant names the step that failed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The index directory could not be created or opened.
    #[error("open index directory {path}: {message}")]
    Open {
        /// The directory.
        path: String,
        /// What the file system said.
        message: String,
    },
    /// tantivy failed during `step` (add, delete, commit, search, reload...).
    #[error("index {step}: {source}")]
    Tantivy {
        /// The operation that failed.
        step: &'static str,
        /// tantivy's error.
        #[source]
        source: tantivy::TantivyError,
    },
    /// A query the index cannot run (for instance a wildcard too complex to expand).
    #[error("query cannot be run: {0}")]
    Query(String),
    /// A thread panicked while holding the index writer.
    #[error("index writer lock poisoned")]
    Poisoned,
}

impl IndexError {
    pub(crate) fn tantivy(step: &'static str) -> impl FnOnce(tantivy::TantivyError) -> Self {
        move |source| IndexError::Tantivy { step, source }
    }
}

impl From<IndexError> for ServiceError {
    /// Query problems are the client's (`mail.QUERY_PARSE_ERROR`); everything else is
    /// `service.FAILURE`.
    fn from(e: IndexError) -> Self {
        match e {
            IndexError::Query(_) => ServiceError::new(FaultCode::QueryParseError, e.to_string()),
            other => ServiceError::failure(other.to_string()),
        }
    }
}

impl From<QueryParseError> for ServiceError {
    /// `mail.QUERY_PARSE_ERROR` naming the byte position of the problem.
    fn from(e: QueryParseError) -> Self {
        ServiceError::new(
            FaultCode::QueryParseError,
            format!(
                "query parse error at position {}: {}",
                e.position, e.message
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_map_to_zimbra_codes() {
        let e: ServiceError = crate::query::parse("is:nonsense").unwrap_err().into();
        assert_eq!(e.code, FaultCode::QueryParseError);
        assert_eq!(e.code.as_str(), "mail.QUERY_PARSE_ERROR");
        assert!(e.message.contains("position 3"), "{}", e.message);
        let e: ServiceError = IndexError::Poisoned.into();
        assert_eq!(e.code, FaultCode::Failure);
        let e: ServiceError = IndexError::Query("too big".into()).into();
        assert_eq!(e.code, FaultCode::QueryParseError);
    }
}

//! zcs index: the IndexBackend seam, tantivy backend, query language and text extraction.

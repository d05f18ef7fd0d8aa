//! zcs store: mailboxes, items, blob volumes and the redo log.

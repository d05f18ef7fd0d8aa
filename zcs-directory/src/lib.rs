//! zcs directory: the Directory and AuthMechanism seams, SQL backend, provisioning.

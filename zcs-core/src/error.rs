//! `ServiceError`: the error every zcs crate can turn its own errors into, carrying the
//! Zimbra fault code a SOAP client, `zmprov` or an IMAP `NO` response reports.

use std::fmt;

/// Zimbra's fault codes (`Detail/Error/Code` in a SOAP fault).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultCode {
    // service.*
    Failure,
    InvalidRequest,
    PermDenied,
    AuthRequired,
    AuthExpired,
    UnknownDocument,
    ParseError,
    TooManyHops,
    ResourceUnreachable,
    Temporarily,
    // account.*
    NoSuchAccount,
    NoSuchDomain,
    NoSuchCos,
    NoSuchServer,
    NoSuchAlias,
    NoSuchDistributionList,
    AccountExists,
    DomainExists,
    TooManyAccounts,
    CosExists,
    ServerExists,
    DistributionListExists,
    AuthFailed,
    ChangePasswordRequired,
    PasswordLocked,
    InvalidPassword,
    MaintenanceMode,
    InvalidAttrName,
    InvalidAttrValue,
    DomainNotEmpty,
    NoSuchMember,
    NoSuchCalendarResource,
    NoSuchIdentity,
    NoSuchSignature,
    NoSuchDataSource,
    IdentityExists,
    SignatureExists,
    DataSourceExists,
    TooManyIdentities,
    TooManySignatures,
    TooManyDataSources,
    PasswordRecentlyUsed,
    PasswordChangeTooSoon,
    TooManySearchResults,
    NoSuchRight,
    AccountInactive,
    // mail.*
    NoSuchMailbox,
    NoSuchItem,
    NoSuchMsg,
    NoSuchFolder,
    NoSuchTag,
    AlreadyExists,
    QuotaExceeded,
    QueryParseError,
    InvalidName,
    CannotContain,
    MaintenanceModeMail,
    NoSuchConv,
    NoSuchPart,
    NoSuchContact,
    NoSuchMountpoint,
    NoSuchCalItem,
    NoSuchAppt,
    NoSuchTask,
    NoSuchDoc,
    NoSuchUpload,
    NoSuchGrantee,
    InvalidId,
    InvalidType,
    InvalidContentType,
    InvalidSyncToken,
    CannotCopy,
    CannotTag,
    CannotRename,
    ImmutableObject,
    WrongMailbox,
    ModifyConflict,
    TooManyContacts,
    UnableToImportContacts,
    MessageParseError,
    IcalendarParseError,
    SendAbortedAddressFailure,
    SendPartialAddressFailure,
    SendFailure,
    MessageTooBig,
    UploadTooLarge,
    GrantExists,
    CannotGrant,
    InvalidCommitId,
    // account.*, ldap.* and service.* codes of the account and admin APIs
    MultipleAccountsMatched,
    LdapInvalidAttrValue,
    LdapObjectClassViolation,
    MaxAttemptsReached,
    MaxAttemptsReachedSuspendFeature,
    RecoveryEmailSameAsPrimaryOrAlias,
    ContactAdmin,
    LdapError,
    // mail.DOMAIN_QUOTA_EXCEEDED, volume.* and zimlet.*
    DomainQuotaExceeded,
    NoSuchVolume,
    VolumeAlreadyExists,
    CannotDeleteCurrentVolume,
    CannotDeleteVolumeInUse,
    WrongTypeCurrentVolume,
    NoSuchZimlet,
}

impl FaultCode {
    /// The dotted code string Zimbra puts in `Detail/Error/Code`.
    pub fn as_str(self) -> &'static str {
        use FaultCode::*;
        match self {
            Failure => "service.FAILURE",
            InvalidRequest => "service.INVALID_REQUEST",
            PermDenied => "service.PERM_DENIED",
            AuthRequired => "service.AUTH_REQUIRED",
            AuthExpired => "service.AUTH_EXPIRED",
            UnknownDocument => "service.UNKNOWN_DOCUMENT",
            ParseError => "service.PARSE_ERROR",
            TooManyHops => "service.TOO_MANY_HOPS",
            ResourceUnreachable => "service.RESOURCE_UNREACHABLE",
            Temporarily => "service.TEMPORARILY_UNAVAILABLE",
            NoSuchAccount => "account.NO_SUCH_ACCOUNT",
            NoSuchDomain => "account.NO_SUCH_DOMAIN",
            NoSuchCos => "account.NO_SUCH_COS",
            NoSuchServer => "account.NO_SUCH_SERVER",
            NoSuchAlias => "account.NO_SUCH_ALIAS",
            NoSuchDistributionList => "account.NO_SUCH_DISTRIBUTION_LIST",
            AccountExists => "account.ACCOUNT_EXISTS",
            DomainExists => "account.DOMAIN_EXISTS",
            TooManyAccounts => "account.TOO_MANY_ACCOUNTS",
            CosExists => "account.COS_EXISTS",
            ServerExists => "account.SERVER_EXISTS",
            DistributionListExists => "account.DISTRIBUTION_LIST_EXISTS",
            AuthFailed => "account.AUTH_FAILED",
            ChangePasswordRequired => "account.CHANGE_PASSWORD",
            PasswordLocked => "account.PASSWORD_LOCKED",
            InvalidPassword => "account.INVALID_PASSWORD",
            MaintenanceMode => "account.MAINTENANCE_MODE",
            InvalidAttrName => "account.INVALID_ATTR_NAME",
            InvalidAttrValue => "account.INVALID_ATTR_VALUE",
            DomainNotEmpty => "account.DOMAIN_NOT_EMPTY",
            NoSuchMember => "account.NO_SUCH_MEMBER",
            NoSuchCalendarResource => "account.NO_SUCH_CALENDAR_RESOURCE",
            NoSuchIdentity => "account.NO_SUCH_IDENTITY",
            NoSuchSignature => "account.NO_SUCH_SIGNATURE",
            NoSuchDataSource => "account.NO_SUCH_DATA_SOURCE",
            IdentityExists => "account.IDENTITY_EXISTS",
            SignatureExists => "account.SIGNATURE_EXISTS",
            DataSourceExists => "account.DATA_SOURCE_EXISTS",
            TooManyIdentities => "account.TOO_MANY_IDENTITIES",
            TooManySignatures => "account.TOO_MANY_SIGNATURES",
            TooManyDataSources => "account.TOO_MANY_DATA_SOURCES",
            PasswordRecentlyUsed => "account.PASSWORD_RECENTLY_USED",
            PasswordChangeTooSoon => "account.PASSWORD_CHANGE_TOO_SOON",
            TooManySearchResults => "account.TOO_MANY_SEARCH_RESULTS",
            NoSuchRight => "account.NO_SUCH_RIGHT",
            AccountInactive => "account.ACCOUNT_INACTIVE",
            NoSuchMailbox => "mail.NO_SUCH_MBOX",
            NoSuchItem => "mail.NO_SUCH_ITEM",
            NoSuchMsg => "mail.NO_SUCH_MSG",
            NoSuchFolder => "mail.NO_SUCH_FOLDER",
            NoSuchTag => "mail.NO_SUCH_TAG",
            AlreadyExists => "mail.ALREADY_EXISTS",
            QuotaExceeded => "mail.QUOTA_EXCEEDED",
            QueryParseError => "mail.QUERY_PARSE_ERROR",
            InvalidName => "mail.INVALID_NAME",
            CannotContain => "mail.CANNOT_CONTAIN",
            MaintenanceModeMail => "mail.MAINTENANCE",
            NoSuchConv => "mail.NO_SUCH_CONV",
            NoSuchPart => "mail.NO_SUCH_PART",
            NoSuchContact => "mail.NO_SUCH_CONTACT",
            NoSuchMountpoint => "mail.NO_SUCH_MOUNTPOINT",
            NoSuchCalItem => "mail.NO_SUCH_CALITEM",
            NoSuchAppt => "mail.NO_SUCH_APPT",
            NoSuchTask => "mail.NO_SUCH_TASK",
            NoSuchDoc => "mail.NO_SUCH_DOC",
            NoSuchUpload => "mail.NO_SUCH_UPLOAD",
            NoSuchGrantee => "mail.NO_SUCH_GRANTEE",
            InvalidId => "mail.INVALID_ID",
            InvalidType => "mail.INVALID_TYPE",
            InvalidContentType => "mail.INVALID_CONTENT_TYPE",
            InvalidSyncToken => "mail.INVALID_SYNC_TOKEN",
            CannotCopy => "mail.CANNOT_COPY",
            CannotTag => "mail.CANNOT_TAG",
            CannotRename => "mail.CANNOT_RENAME",
            ImmutableObject => "mail.IMMUTABLE_OBJECT",
            WrongMailbox => "mail.WRONG_MAILBOX",
            ModifyConflict => "mail.MODIFY_CONFLICT",
            TooManyContacts => "mail.TOO_MANY_CONTACTS",
            UnableToImportContacts => "mail.UNABLE_TO_IMPORT_CONTACTS",
            MessageParseError => "mail.MESSAGE_PARSE_ERROR",
            IcalendarParseError => "mail.ICALENDAR_PARSE_ERROR",
            SendAbortedAddressFailure => "mail.SEND_ABORTED_ADDRESS_FAILURE",
            SendPartialAddressFailure => "mail.SEND_PARTIAL_ADDRESS_FAILURE",
            SendFailure => "mail.SEND_FAILURE",
            MessageTooBig => "mail.MESSAGE_TOO_BIG",
            UploadTooLarge => "mail.UPLOAD_TOO_LARGE",
            GrantExists => "mail.GRANT_EXISTS",
            CannotGrant => "mail.CANNOT_GRANT",
            InvalidCommitId => "mail.INVALID_COMMIT_ID",
            MultipleAccountsMatched => "account.MULTIPLE_ACCOUNTS_MATCHED",
            LdapInvalidAttrValue => "ldap.INVALID_ATTR_VALUE",
            LdapObjectClassViolation => "ldap.OBJECT_CLASS_VIOLATION",
            MaxAttemptsReached => "service.MAX_ATTEMPTS_REACHED",
            MaxAttemptsReachedSuspendFeature => "service.MAX_ATTEMPTS_REACHED_SUSPEND_FEATURE",
            RecoveryEmailSameAsPrimaryOrAlias => "service.RECOVERY_EMAIL_SAME_AS_PRIMARY_OR_ALIAS",
            ContactAdmin => "service.CONTACT_ADMIN",
            LdapError => "ldap.LDAP_ERROR",
            DomainQuotaExceeded => "mail.DOMAIN_QUOTA_EXCEEDED",
            NoSuchVolume => "volume.NO_SUCH_VOLUME",
            VolumeAlreadyExists => "volume.ALREADY_EXISTS",
            CannotDeleteCurrentVolume => "volume.CANNOT_DELETE_CURRENT_VOLUME",
            CannotDeleteVolumeInUse => "volume.CANNOT_DELETE_VOLUME_IN_USE",
            WrongTypeCurrentVolume => "volume.WRONG_TYPE_CURVOL",
            NoSuchZimlet => "zimlet.NO_SUCH_ZIMLET",
        }
    }

    /// Every code, for lookups by string.
    pub const ALL: &'static [FaultCode] = {
        use FaultCode::*;
        &[
            Failure,
            InvalidRequest,
            PermDenied,
            AuthRequired,
            AuthExpired,
            UnknownDocument,
            ParseError,
            TooManyHops,
            ResourceUnreachable,
            Temporarily,
            NoSuchAccount,
            NoSuchDomain,
            NoSuchCos,
            NoSuchServer,
            NoSuchAlias,
            NoSuchDistributionList,
            AccountExists,
            DomainExists,
            TooManyAccounts,
            CosExists,
            ServerExists,
            DistributionListExists,
            AuthFailed,
            ChangePasswordRequired,
            PasswordLocked,
            InvalidPassword,
            MaintenanceMode,
            InvalidAttrName,
            InvalidAttrValue,
            DomainNotEmpty,
            NoSuchMember,
            NoSuchCalendarResource,
            NoSuchIdentity,
            NoSuchSignature,
            NoSuchDataSource,
            IdentityExists,
            SignatureExists,
            DataSourceExists,
            TooManyIdentities,
            TooManySignatures,
            TooManyDataSources,
            PasswordRecentlyUsed,
            PasswordChangeTooSoon,
            TooManySearchResults,
            NoSuchRight,
            AccountInactive,
            NoSuchMailbox,
            NoSuchItem,
            NoSuchMsg,
            NoSuchFolder,
            NoSuchTag,
            AlreadyExists,
            QuotaExceeded,
            QueryParseError,
            InvalidName,
            CannotContain,
            MaintenanceModeMail,
            NoSuchConv,
            NoSuchPart,
            NoSuchContact,
            NoSuchMountpoint,
            NoSuchCalItem,
            NoSuchAppt,
            NoSuchTask,
            NoSuchDoc,
            NoSuchUpload,
            NoSuchGrantee,
            InvalidId,
            InvalidType,
            InvalidContentType,
            InvalidSyncToken,
            CannotCopy,
            CannotTag,
            CannotRename,
            ImmutableObject,
            WrongMailbox,
            ModifyConflict,
            TooManyContacts,
            UnableToImportContacts,
            MessageParseError,
            IcalendarParseError,
            SendAbortedAddressFailure,
            SendPartialAddressFailure,
            SendFailure,
            MessageTooBig,
            UploadTooLarge,
            GrantExists,
            CannotGrant,
            InvalidCommitId,
            MultipleAccountsMatched,
            LdapInvalidAttrValue,
            LdapObjectClassViolation,
            MaxAttemptsReached,
            MaxAttemptsReachedSuspendFeature,
            RecoveryEmailSameAsPrimaryOrAlias,
            ContactAdmin,
            LdapError,
            DomainQuotaExceeded,
            NoSuchVolume,
            VolumeAlreadyExists,
            CannotDeleteCurrentVolume,
            CannotDeleteVolumeInUse,
            WrongTypeCurrentVolume,
            NoSuchZimlet,
        ]
    };

    /// The code whose dotted string is `code` (`account.NO_SUCH_MEMBER`); `None` for a
    /// string no variant has.
    pub fn from_zimbra(code: &str) -> Option<FaultCode> {
        FaultCode::ALL.iter().copied().find(|c| c.as_str() == code)
    }

    /// Whether a SOAP fault with this code is the sender's fault (`soap:Sender`) rather
    /// than the server's (`soap:Receiver`).
    pub fn is_sender_fault(self) -> bool {
        !matches!(
            self,
            FaultCode::Failure
                | FaultCode::Temporarily
                | FaultCode::ResourceUnreachable
                | FaultCode::SendFailure
        )
    }
}

impl fmt::Display for FaultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error with a Zimbra fault code and a message fit to show the client.
///
/// The message must never contain a password, a token or message content.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ServiceError {
    pub code: FaultCode,
    pub message: String,
}

/// Result with [`ServiceError`].
pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    /// An error with `code` and `message`.
    pub fn new(code: FaultCode, message: impl Into<String>) -> Self {
        ServiceError {
            code,
            message: message.into(),
        }
    }

    /// `service.FAILURE`: something went wrong on the server's side.
    pub fn failure(message: impl Into<String>) -> Self {
        Self::new(FaultCode::Failure, message)
    }

    /// `service.INVALID_REQUEST`: the request itself is wrong.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(FaultCode::InvalidRequest, message)
    }

    /// `service.PERM_DENIED`.
    pub fn perm_denied(message: impl Into<String>) -> Self {
        Self::new(FaultCode::PermDenied, message)
    }

    /// `account.NO_SUCH_ACCOUNT` naming the account asked for.
    pub fn no_such_account(name: &str) -> Self {
        Self::new(FaultCode::NoSuchAccount, format!("no such account: {name}"))
    }

    /// `account.AUTH_FAILED`; the message never says which part was wrong.
    pub fn auth_failed() -> Self {
        Self::new(FaultCode::AuthFailed, "authentication failed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_use_zimbra_spelling() {
        assert_eq!(FaultCode::NoSuchAccount.as_str(), "account.NO_SUCH_ACCOUNT");
        assert_eq!(FaultCode::QuotaExceeded.as_str(), "mail.QUOTA_EXCEEDED");
        let e = ServiceError::no_such_account("a@b.c");
        assert_eq!(
            e.to_string(),
            "account.NO_SUCH_ACCOUNT: no such account: a@b.c"
        );
    }

    #[test]
    fn every_code_is_listed_once_and_found_by_string() {
        let mut seen = std::collections::HashSet::new();
        for c in FaultCode::ALL {
            assert!(seen.insert(c.as_str()), "{c} twice");
            assert_eq!(FaultCode::from_zimbra(c.as_str()), Some(*c));
        }
        assert_eq!(
            FaultCode::from_zimbra("account.PASSWORD_RECENTLY_USED"),
            Some(FaultCode::PasswordRecentlyUsed)
        );
        assert_eq!(FaultCode::from_zimbra("account.NOPE"), None);
        assert_eq!(
            FaultCode::from_zimbra("ldap.OBJECT_CLASS_VIOLATION"),
            Some(FaultCode::LdapObjectClassViolation)
        );
    }
}

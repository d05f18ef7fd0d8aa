//! zcs MTA: SMTP and LMTP listeners, recipient resolution and local delivery.

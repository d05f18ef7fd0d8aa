//! The Sendmail milter wire format (protocol version 6): length-prefixed packets, the
//! commands the MTA sends and the replies a milter sends back.
//!
//! A packet is a 4-octet big-endian length (counting the command octet and the data),
//! one command octet, then the data. Strings are NUL-terminated. This module only turns
//! values into octets and octets into values; the conversation is in `client`.

/// Protocol version we speak (Sendmail 8.14 / Postfix 2.6 and later).
pub const VERSION: u32 = 6;

/// Largest body chunk sent in one `SMFIC_BODY` packet (libmilter's `MILTER_CHUNK_SIZE`).
pub const BODY_CHUNK: usize = 65535;

/// Largest packet accepted from a milter: a replaced body arrives in chunks, so 1 MiB is
/// far more than any sane packet; anything larger is a protocol error, not an allocation.
pub const MAX_PACKET: usize = 1024 * 1024;

/// Actions a milter may ask to take (`SMFIF_*`), as bits of the negotiated action mask.
pub mod action {
    /// Add header fields.
    pub const ADD_HEADERS: u32 = 0x01;
    /// Replace the body.
    pub const CHANGE_BODY: u32 = 0x02;
    /// Add recipients.
    pub const ADD_RCPT: u32 = 0x04;
    /// Delete recipients.
    pub const DEL_RCPT: u32 = 0x08;
    /// Change or delete header fields.
    pub const CHANGE_HEADERS: u32 = 0x10;
    /// Quarantine the message.
    pub const QUARANTINE: u32 = 0x20;
    /// Change the envelope sender.
    pub const CHANGE_FROM: u32 = 0x40;
    /// Add recipients with ESMTP parameters.
    pub const ADD_RCPT_PAR: u32 = 0x80;
    /// Everything we implement.
    pub const SUPPORTED: u32 = ADD_HEADERS
        | CHANGE_BODY
        | ADD_RCPT
        | DEL_RCPT
        | CHANGE_HEADERS
        | QUARANTINE
        | CHANGE_FROM
        | ADD_RCPT_PAR;
}

/// Protocol steps a milter may skip or not answer (`SMFIP_*`), as bits of the negotiated
/// protocol mask.
pub mod step {
    /// No connect information.
    pub const NO_CONNECT: u32 = 0x01;
    /// No HELO.
    pub const NO_HELO: u32 = 0x02;
    /// No MAIL FROM.
    pub const NO_MAIL: u32 = 0x04;
    /// No RCPT TO.
    pub const NO_RCPT: u32 = 0x08;
    /// No body.
    pub const NO_BODY: u32 = 0x10;
    /// No header fields.
    pub const NO_HEADERS: u32 = 0x20;
    /// No end of header.
    pub const NO_EOH: u32 = 0x40;
    /// No reply to header fields.
    pub const NR_HEADER: u32 = 0x80;
    /// No unknown commands.
    pub const NO_UNKNOWN: u32 = 0x100;
    /// No DATA.
    pub const NO_DATA: u32 = 0x200;
    /// The MTA understands `SMFIR_SKIP`.
    pub const SKIP: u32 = 0x400;
    /// Send rejected recipients too.
    pub const RCPT_REJ: u32 = 0x800;
    /// No reply to connect.
    pub const NR_CONNECT: u32 = 0x1000;
    /// No reply to HELO.
    pub const NR_HELO: u32 = 0x2000;
    /// No reply to MAIL.
    pub const NR_MAIL: u32 = 0x4000;
    /// No reply to RCPT.
    pub const NR_RCPT: u32 = 0x8000;
    /// No reply to DATA.
    pub const NR_DATA: u32 = 0x10000;
    /// No reply to unknown commands.
    pub const NR_UNKNOWN: u32 = 0x20000;
    /// No reply to end of header.
    pub const NR_EOH: u32 = 0x40000;
    /// No reply to body chunks.
    pub const NR_BODY: u32 = 0x80000;
    /// Header values keep their leading space.
    pub const HEADER_LEADING_SPACE: u32 = 0x100000;
    /// Every step flag we honour (we offer all of them).
    pub const SUPPORTED: u32 = 0x1F_FFFF & !RCPT_REJ;
}

/// The address family of `SMFIC_CONNECT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Family {
    /// Unknown (`U`): no port or address follow.
    Unknown,
    /// IPv4 (`4`).
    Inet(u16, String),
    /// IPv6 (`6`).
    Inet6(u16, String),
}

/// A command from the MTA to the milter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `O`: option negotiation: version, actions, protocol steps.
    OptNeg {
        /// Protocol version.
        version: u32,
        /// Actions offered (`action::*`).
        actions: u32,
        /// Steps that may be skipped (`step::*`).
        protocol: u32,
    },
    /// `D`: macros for the command `for_cmd`, as name/value pairs.
    Macro {
        /// The command these macros go with (`C`, `H`, `M`, `R`, `T`, `N`, `E`).
        for_cmd: u8,
        /// Name/value pairs.
        pairs: Vec<(String, String)>,
    },
    /// `C`: the client's host name and address.
    Connect {
        /// Host name (or `[ip]`).
        hostname: String,
        /// Address family, port and address.
        family: Family,
    },
    /// `H`: the HELO/EHLO argument.
    Helo(String),
    /// `M`: `MAIL FROM` argument (`<addr>`) and ESMTP parameters.
    Mail(Vec<String>),
    /// `R`: `RCPT TO` argument (`<addr>`) and ESMTP parameters.
    Rcpt(Vec<String>),
    /// `T`: DATA was given.
    Data,
    /// `L`: one header field.
    Header(String, String),
    /// `N`: end of header.
    EndOfHeaders,
    /// `B`: a body chunk (at most [`BODY_CHUNK`] octets).
    Body(Vec<u8>),
    /// `E`: end of body; the milter answers with its modifications and a verdict.
    EndOfBody,
    /// `A`: abort this message, keep the connection.
    Abort,
    /// `Q`: close the connection.
    Quit,
}

/// A reply from the milter to the MTA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// `O`: negotiated version, actions and steps.
    OptNeg {
        /// Version the milter speaks.
        version: u32,
        /// Actions it may take.
        actions: u32,
        /// Steps it skips.
        protocol: u32,
    },
    /// `c`: go on.
    Continue,
    /// `a`: accept the message, no more milter steps for it.
    Accept,
    /// `r`: reject (5xx).
    Reject,
    /// `t`: temporary failure (4xx).
    TempFail,
    /// `d`: accept and drop the message.
    Discard,
    /// `s`: skip the rest of the body.
    Skip,
    /// `y`: reject with this reply text (`"550 5.7.1 text"`).
    ReplyCode(String),
    /// `p`: still working; restart the timer.
    Progress,
    /// `h`: add a header field at the end.
    AddHeader(String, String),
    /// `i`: insert a header field at this position (0 = first).
    InsertHeader(u32, String, String),
    /// `m`: change the `index`-th (1-based) field of this name; empty value deletes it.
    ChangeHeader(u32, String, String),
    /// `+` (or `2`, parameters dropped): add a recipient.
    AddRcpt(String),
    /// `-`: delete a recipient.
    DelRcpt(String),
    /// `b`: a chunk of the replacement body.
    ReplaceBody(Vec<u8>),
    /// `e`: change the envelope sender.
    ChangeFrom(String),
    /// `q`: quarantine, with a reason.
    Quarantine(String),
}

/// A milter sent something we cannot read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// A packet announced more than [`MAX_PACKET`] octets, or zero.
    #[error("bad packet length {0}")]
    BadLength(usize),
    /// An unknown reply code.
    #[error("unknown reply {0:#04x}")]
    UnknownReply(u8),
    /// A reply's data was cut short or had no NUL where one was needed.
    #[error("malformed {0} reply")]
    Malformed(char),
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // A NUL inside a value would end it early on the other side: drop it.
    out.extend(s.bytes().filter(|b| *b != 0));
    out.push(0);
}

impl Command {
    /// The packet for this command: length, command octet, data.
    pub fn encode(&self) -> Vec<u8> {
        let mut data = Vec::new();
        let code = match self {
            Command::OptNeg {
                version,
                actions,
                protocol,
            } => {
                data.extend_from_slice(&version.to_be_bytes());
                data.extend_from_slice(&actions.to_be_bytes());
                data.extend_from_slice(&protocol.to_be_bytes());
                b'O'
            }
            Command::Macro { for_cmd, pairs } => {
                data.push(*for_cmd);
                for (name, value) in pairs {
                    put_str(&mut data, name);
                    put_str(&mut data, value);
                }
                b'D'
            }
            Command::Connect { hostname, family } => {
                put_str(&mut data, hostname);
                match family {
                    Family::Unknown => data.push(b'U'),
                    Family::Inet(port, addr) | Family::Inet6(port, addr) => {
                        data.push(if matches!(family, Family::Inet(..)) {
                            b'4'
                        } else {
                            b'6'
                        });
                        data.extend_from_slice(&port.to_be_bytes());
                        put_str(&mut data, addr);
                    }
                }
                b'C'
            }
            Command::Helo(name) => {
                put_str(&mut data, name);
                b'H'
            }
            Command::Mail(args) | Command::Rcpt(args) => {
                args.iter().for_each(|a| put_str(&mut data, a));
                if matches!(self, Command::Mail(_)) {
                    b'M'
                } else {
                    b'R'
                }
            }
            Command::Data => b'T',
            Command::Header(name, value) => {
                put_str(&mut data, name);
                put_str(&mut data, value);
                b'L'
            }
            Command::EndOfHeaders => b'N',
            Command::Body(chunk) => {
                data.extend_from_slice(&chunk[..chunk.len().min(BODY_CHUNK)]);
                b'B'
            }
            Command::EndOfBody => b'E',
            Command::Abort => b'A',
            Command::Quit => b'Q',
        };
        let len = u32::try_from(data.len() + 1).unwrap_or(u32::MAX);
        let mut out = Vec::with_capacity(data.len() + 5);
        out.extend_from_slice(&len.to_be_bytes());
        out.push(code);
        out.extend_from_slice(&data);
        out
    }
}

/// Reads the packet length from its 4-octet prefix.
///
/// # Errors
/// Zero or more than [`MAX_PACKET`].
pub fn packet_len(prefix: [u8; 4]) -> Result<usize, CodecError> {
    let len = u32::from_be_bytes(prefix) as usize;
    if len == 0 || len > MAX_PACKET {
        return Err(CodecError::BadLength(len));
    }
    Ok(len)
}

/// Splits NUL-terminated strings off `data`; `None` when one lacks its NUL.
fn strings(data: &[u8], count: usize) -> Option<(Vec<String>, &[u8])> {
    let mut rest = data;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let nul = rest.iter().position(|b| *b == 0)?;
        out.push(String::from_utf8_lossy(&rest[..nul]).into_owned());
        rest = &rest[nul + 1..];
    }
    Some((out, rest))
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_be_bytes(bytes))
}

impl Response {
    /// Reads one reply from a packet body (command octet and data, the length already
    /// taken off).
    ///
    /// # Errors
    /// An empty packet, an unknown code or malformed data.
    pub fn decode(packet: &[u8]) -> Result<Response, CodecError> {
        let (&code, data) = packet.split_first().ok_or(CodecError::BadLength(0))?;
        let bad = || CodecError::Malformed(char::from(code));
        let one = |data: &[u8]| {
            strings(data, 1)
                .map(|(mut s, _)| s.remove(0))
                .ok_or_else(bad)
        };
        let two = |data: &[u8]| {
            strings(data, 2)
                .map(|(mut s, _)| (s.remove(0), s.remove(0)))
                .ok_or_else(bad)
        };
        Ok(match code {
            b'O' => Response::OptNeg {
                version: u32_at(data, 0).ok_or_else(bad)?,
                actions: u32_at(data, 4).ok_or_else(bad)?,
                protocol: u32_at(data, 8).ok_or_else(bad)?,
            },
            b'c' => Response::Continue,
            b'a' => Response::Accept,
            b'r' => Response::Reject,
            b't' => Response::TempFail,
            b'd' => Response::Discard,
            b's' => Response::Skip,
            b'p' => Response::Progress,
            b'y' => Response::ReplyCode(one(data)?),
            b'h' => {
                let (n, v) = two(data)?;
                Response::AddHeader(n, v)
            }
            b'i' | b'm' => {
                let index = u32_at(data, 0).ok_or_else(bad)?;
                let (n, v) = two(&data[4..])?;
                if code == b'i' {
                    Response::InsertHeader(index, n, v)
                } else {
                    Response::ChangeHeader(index, n, v)
                }
            }
            b'+' | b'2' => Response::AddRcpt(one(data)?),
            b'-' => Response::DelRcpt(one(data)?),
            b'b' => Response::ReplaceBody(data.to_vec()),
            b'e' => Response::ChangeFrom(one(data)?),
            b'q' => Response::Quarantine(
                strings(data, 1)
                    .map(|(s, _)| s.concat())
                    .unwrap_or_default(),
            ),
            other => return Err(CodecError::UnknownReply(other)),
        })
    }

    /// The packet for this reply (what a milter sends); used by tests and test milters.
    pub fn encode(&self) -> Vec<u8> {
        let mut data = Vec::new();
        let code = match self {
            Response::OptNeg {
                version,
                actions,
                protocol,
            } => {
                data.extend_from_slice(&version.to_be_bytes());
                data.extend_from_slice(&actions.to_be_bytes());
                data.extend_from_slice(&protocol.to_be_bytes());
                b'O'
            }
            Response::Continue => b'c',
            Response::Accept => b'a',
            Response::Reject => b'r',
            Response::TempFail => b't',
            Response::Discard => b'd',
            Response::Skip => b's',
            Response::Progress => b'p',
            Response::ReplyCode(text) => {
                put_str(&mut data, text);
                b'y'
            }
            Response::AddHeader(n, v) => {
                put_str(&mut data, n);
                put_str(&mut data, v);
                b'h'
            }
            Response::InsertHeader(i, n, v) | Response::ChangeHeader(i, n, v) => {
                data.extend_from_slice(&i.to_be_bytes());
                put_str(&mut data, n);
                put_str(&mut data, v);
                if matches!(self, Response::InsertHeader(..)) {
                    b'i'
                } else {
                    b'm'
                }
            }
            Response::AddRcpt(r) => {
                put_str(&mut data, r);
                b'+'
            }
            Response::DelRcpt(r) => {
                put_str(&mut data, r);
                b'-'
            }
            Response::ReplaceBody(b) => {
                data.extend_from_slice(b);
                b'b'
            }
            Response::ChangeFrom(f) => {
                put_str(&mut data, f);
                b'e'
            }
            Response::Quarantine(r) => {
                put_str(&mut data, r);
                b'q'
            }
        };
        let len = u32::try_from(data.len() + 1).unwrap_or(u32::MAX);
        let mut out = len.to_be_bytes().to_vec();
        out.push(code);
        out.extend_from_slice(&data);
        out
    }
}

/// Reads one command from a packet body (what a milter receives); used by test milters
/// and the fuzz target.
///
/// # Errors
/// An empty packet, an unknown command or malformed data.
pub fn decode_command(packet: &[u8]) -> Result<Command, CodecError> {
    let (&code, data) = packet.split_first().ok_or(CodecError::BadLength(0))?;
    let bad = || CodecError::Malformed(char::from(code));
    let all = |data: &[u8]| {
        let mut rest = data;
        let mut out = Vec::new();
        while !rest.is_empty() {
            let (mut s, r) = strings(rest, 1).ok_or_else(bad)?;
            out.push(s.remove(0));
            rest = r;
        }
        Ok::<_, CodecError>(out)
    };
    Ok(match code {
        b'O' => Command::OptNeg {
            version: u32_at(data, 0).ok_or_else(bad)?,
            actions: u32_at(data, 4).ok_or_else(bad)?,
            protocol: u32_at(data, 8).ok_or_else(bad)?,
        },
        b'D' => {
            let (&for_cmd, rest) = data.split_first().ok_or_else(bad)?;
            let items = all(rest)?;
            let pairs = items
                .chunks(2)
                .map(|c| (c[0].clone(), c.get(1).cloned().unwrap_or_default()))
                .collect();
            Command::Macro { for_cmd, pairs }
        }
        b'C' => {
            let (mut host, rest) = strings(data, 1).ok_or_else(bad)?;
            let hostname = host.remove(0);
            let (&fam, rest) = rest.split_first().ok_or_else(bad)?;
            let family = match fam {
                b'4' | b'6' => {
                    let port = u16::from_be_bytes(
                        rest.get(..2)
                            .and_then(|p| p.try_into().ok())
                            .ok_or_else(bad)?,
                    );
                    let (mut addr, _) = strings(&rest[2..], 1).ok_or_else(bad)?;
                    let addr = addr.remove(0);
                    if fam == b'4' {
                        Family::Inet(port, addr)
                    } else {
                        Family::Inet6(port, addr)
                    }
                }
                _ => Family::Unknown,
            };
            Command::Connect { hostname, family }
        }
        b'H' => Command::Helo(all(data)?.into_iter().next().unwrap_or_default()),
        b'M' => Command::Mail(all(data)?),
        b'R' => Command::Rcpt(all(data)?),
        b'T' => Command::Data,
        b'L' => {
            let (mut s, _) = strings(data, 2).ok_or_else(bad)?;
            Command::Header(s.remove(0), s.remove(0))
        }
        b'N' => Command::EndOfHeaders,
        b'B' => Command::Body(data.to_vec()),
        b'E' => Command::EndOfBody,
        b'A' => Command::Abort,
        b'Q' => Command::Quit,
        other => return Err(CodecError::UnknownReply(other)),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn optneg_packet() {
        let p = Command::OptNeg {
            version: 6,
            actions: 0x1ff,
            protocol: 0,
        }
        .encode();
        assert_eq!(&p[..5], &[0, 0, 0, 13, b'O']);
        assert_eq!(packet_len([0, 0, 0, 13]), Ok(13));
        assert!(packet_len([0, 0, 0, 0]).is_err());
        assert!(packet_len([0xff, 0, 0, 0]).is_err());
    }

    #[test]
    fn replies() {
        assert_eq!(
            Response::decode(b"y550 5.7.1 no\0"),
            Ok(Response::ReplyCode("550 5.7.1 no".into()))
        );
        assert_eq!(
            Response::decode(b"m\0\0\0\x01Subject\0\0"),
            Ok(Response::ChangeHeader(1, "Subject".into(), String::new()))
        );
        assert_eq!(
            Response::decode(b"2<a@b>\0NOTIFY=NEVER\0"),
            Ok(Response::AddRcpt("<a@b>".into()))
        );
        assert!(Response::decode(b"h\0").is_err());
        assert!(Response::decode(b"m\0\0").is_err());
        assert!(Response::decode(b"Z").is_err());
        assert!(Response::decode(b"").is_err());
    }

    #[test]
    fn nul_in_value_is_dropped() {
        let p = Command::Helo("a\0b".into()).encode();
        assert_eq!(decode_command(&p[4..]), Ok(Command::Helo("ab".into())));
    }

    fn text() -> impl Strategy<Value = String> {
        "[ -~é]{0,40}"
    }

    fn response() -> impl Strategy<Value = Response> {
        prop_oneof![
            (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(v, a, p)| Response::OptNeg {
                version: v,
                actions: a,
                protocol: p
            }),
            Just(Response::Continue),
            Just(Response::Accept),
            Just(Response::Reject),
            Just(Response::TempFail),
            Just(Response::Discard),
            Just(Response::Skip),
            Just(Response::Progress),
            text().prop_map(Response::ReplyCode),
            (text(), text()).prop_map(|(n, v)| Response::AddHeader(n, v)),
            (any::<u32>(), text(), text()).prop_map(|(i, n, v)| Response::InsertHeader(i, n, v)),
            (any::<u32>(), text(), text()).prop_map(|(i, n, v)| Response::ChangeHeader(i, n, v)),
            text().prop_map(Response::AddRcpt),
            text().prop_map(Response::DelRcpt),
            proptest::collection::vec(any::<u8>(), 0..200).prop_map(Response::ReplaceBody),
            text().prop_map(Response::ChangeFrom),
            text().prop_map(Response::Quarantine),
        ]
    }

    fn command() -> impl Strategy<Value = Command> {
        prop_oneof![
            (text(), any::<u16>(), text()).prop_map(|(h, p, a)| Command::Connect {
                hostname: h,
                family: Family::Inet(p, a)
            }),
            text().prop_map(|h| Command::Connect {
                hostname: h,
                family: Family::Unknown
            }),
            text().prop_map(Command::Helo),
            proptest::collection::vec(text(), 1..4).prop_map(Command::Mail),
            proptest::collection::vec(text(), 1..4).prop_map(Command::Rcpt),
            (text(), text()).prop_map(|(n, v)| Command::Header(n, v)),
            proptest::collection::vec((text(), text()), 0..4).prop_map(|pairs| Command::Macro {
                for_cmd: b'C',
                pairs
            }),
            proptest::collection::vec(any::<u8>(), 0..300).prop_map(Command::Body),
            Just(Command::Data),
            Just(Command::EndOfHeaders),
            Just(Command::EndOfBody),
            Just(Command::Quit),
        ]
    }

    proptest! {
        #[test]
        fn responses_round_trip(r in response()) {
            let p = r.encode();
            let len = packet_len(p[..4].try_into().unwrap()).unwrap();
            prop_assert_eq!(len, p.len() - 4);
            prop_assert_eq!(Response::decode(&p[4..]).unwrap(), r);
        }

        #[test]
        fn commands_round_trip(c in command()) {
            let p = c.encode();
            prop_assert_eq!(u32::from_be_bytes(p[..4].try_into().unwrap()) as usize, p.len() - 4);
            prop_assert_eq!(decode_command(&p[4..]).unwrap(), c);
        }

        #[test]
        fn decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Response::decode(&data);
            let _ = decode_command(&data);
        }
    }
}

//! A loopback DNS server for tests: a UDP responder on 127.0.0.1 (port 0) answering A,
//! MX, TXT and PTR questions from a zone held in memory, NXDOMAIN for names it does not
//! hold and an empty answer for other types of a name it holds. A name may instead be
//! made to fail: SERVFAIL, REFUSED, or no answer at all (the question is dropped).
//! Messages are read and written with hickory-proto (through mail-auth), so no DNS
//! parsing lives here.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use mail_auth::hickory_resolver::proto::op::{Message, MessageType, ResponseCode};
use mail_auth::hickory_resolver::proto::rr::rdata::{A, MX, PTR, TXT};
use mail_auth::hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use tokio::net::UdpSocket;

/// The records served, by lower-case name without the final dot.
#[derive(Default)]
pub struct Zone {
    records: HashMap<String, Vec<RData>>,
    /// Names answered with this response code instead of their records.
    failing: HashMap<String, ResponseCode>,
    /// Names whose questions get no answer.
    silent: std::collections::HashSet<String>,
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl Zone {
    fn add(&mut self, name: &str, rdata: RData) {
        self.records.entry(key(name)).or_default().push(rdata);
    }
}

/// A running server; the zone may change while it runs.
#[derive(Clone)]
pub struct TestDns {
    pub addr: SocketAddr,
    zone: Arc<Mutex<Zone>>,
    /// Every question asked, as `name TYPE`.
    pub asked: Arc<Mutex<Vec<String>>>,
}

impl TestDns {
    pub async fn start() -> TestDns {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let dns = TestDns {
            addr,
            zone: Arc::default(),
            asked: Arc::default(),
        };
        let served = dns.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                    return;
                };
                if let Some(answer) = served.answer(&buf[..n]) {
                    let _ = socket.send_to(&answer, peer).await;
                }
            }
        });
        dns
    }

    pub fn a(&self, name: &str, ip: Ipv4Addr) -> &Self {
        self.zone.lock().unwrap().add(name, RData::A(A(ip)));
        self
    }

    pub fn mx(&self, name: &str, preference: u16, exchange: &str) -> &Self {
        // "." is the root: RFC 7505's null MX.
        let exchange = if exchange == "." {
            Name::root()
        } else {
            Name::from_ascii(format!("{exchange}.")).unwrap()
        };
        self.zone
            .lock()
            .unwrap()
            .add(name, RData::MX(MX::new(preference, exchange)));
        self
    }

    /// A TXT record; text longer than 255 octets is split into strings (RFC 7208 §3.3).
    pub fn txt(&self, name: &str, text: &str) -> &Self {
        let parts: Vec<String> = text
            .as_bytes()
            .chunks(255)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        self.zone
            .lock()
            .unwrap()
            .add(name, RData::TXT(TXT::new(parts)));
        self
    }

    pub fn ptr(&self, ip: Ipv4Addr, target: &str) -> &Self {
        let o = ip.octets();
        let name = format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0]);
        let target = Name::from_ascii(format!("{target}.")).unwrap();
        self.zone
            .lock()
            .unwrap()
            .add(&name, RData::PTR(PTR(target)));
        self
    }

    /// Every question about `name` is answered SERVFAIL (RFC 1035 §4.1.1 RCODE 2).
    pub fn servfail(&self, name: &str) -> &Self {
        let mut zone = self.zone.lock().unwrap();
        zone.failing.insert(key(name), ResponseCode::ServFail);
        self
    }

    /// Every question about `name` is answered REFUSED (RCODE 5).
    pub fn refuse(&self, name: &str) -> &Self {
        let mut zone = self.zone.lock().unwrap();
        zone.failing.insert(key(name), ResponseCode::Refused);
        self
    }

    /// Questions about `name` are never answered (the client times out).
    pub fn silent(&self, name: &str) -> &Self {
        self.zone.lock().unwrap().silent.insert(key(name));
        self
    }

    fn answer(&self, packet: &[u8]) -> Option<Vec<u8>> {
        let query = Message::from_vec(packet).ok()?;
        let question = query.queries.first()?.clone();
        let name = question.name().to_ascii();
        let qtype = question.query_type();
        self.asked
            .lock()
            .unwrap()
            .push(format!("{} {qtype}", key(&name)));
        let mut reply = Message::new(
            query.metadata.id,
            MessageType::Response,
            query.metadata.op_code,
        );
        reply.metadata.recursion_desired = query.metadata.recursion_desired;
        reply.metadata.recursion_available = true;
        reply.metadata.authoritative = true;
        reply.add_query(question.clone());
        let zone = self.zone.lock().unwrap();
        if zone.silent.contains(&key(&name)) {
            return None;
        }
        if let Some(code) = zone.failing.get(&key(&name)) {
            reply.metadata.response_code = *code;
            return reply.to_vec().ok();
        }
        match zone.records.get(&key(&name)) {
            None => reply.metadata.response_code = ResponseCode::NXDomain,
            Some(records) => {
                for rdata in records {
                    let matches = matches!(
                        (rdata, qtype),
                        (RData::A(_), RecordType::A)
                            | (RData::MX(_), RecordType::MX)
                            | (RData::TXT(_), RecordType::TXT)
                            | (RData::PTR(_), RecordType::PTR)
                    );
                    if matches {
                        let owner = question.name().clone();
                        reply.add_answer(Record::from_rdata(owner, 60, rdata.clone()));
                    }
                }
            }
        }
        reply.to_vec().ok()
    }
}

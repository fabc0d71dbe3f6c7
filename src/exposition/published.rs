//! The output forms: a publication's pieces (the sample text held once, each format's headers
//! between them), gzip heads built on first request, and the scrape-time tail.

use std::io::Write as _;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::{Bytes, BytesMut};
use prometheus_client::encoding::DescriptorEncoder;

use super::*;

/// The `# HELP`/`# TYPE` lines of every family in a format (index: [`FAMILIES`]), written once
/// per process and shared by every publication.
pub(super) fn headers(format: Format) -> &'static [Bytes] {
    static HEADERS: OnceLock<[Vec<Bytes>; 2]> = OnceLock::new();
    let all = HEADERS.get_or_init(|| {
        [Format::Classic, Format::OpenMetrics].map(|format| {
            let mut text = String::new();
            let mut ends = Vec::with_capacity(FAMILIES.len());
            for fam in FAMILIES {
                write_header(&mut text, fam, format);
                ends.push(text.len());
            }
            let text = Bytes::from(text);
            let mut start = 0;
            ends.into_iter()
                .map(|end| {
                    let h = text.slice(start..end);
                    start = end;
                    h
                })
                .collect()
        })
    });
    &all[format as usize]
}

/// Assembles rendered parts into one contiguous body without the tail: each family once,
/// under its header. The reference form the tests compare published bodies with (the same
/// bytes, in chunks: see [`Published`]).
#[cfg(test)]
pub fn assemble<'a>(parts: impl Iterator<Item = &'a Rendered> + Clone, format: Format) -> Vec<u8> {
    let capacity = parts.clone().map(|p| p.text.len()).sum::<usize>() + 16 * 1024;
    let mut out = Vec::with_capacity(capacity);
    for (i, fam) in FAMILIES.iter().enumerate() {
        if parts.clone().all(|p| p.samples(i).is_empty()) {
            continue;
        }
        let mut header = String::new();
        write_header(&mut header, fam, format);
        out.extend_from_slice(header.as_bytes());
        for p in parts.clone() {
            out.extend_from_slice(p.samples(i));
        }
    }
    out
}

/// The scrape-time tail: ages computed from `now`, plus `# EOF` for OpenMetrics.
pub fn tail(root_uses: &[RootUse], now: f64, format: Format) -> Bytes {
    let mut out = Vec::new();
    if !root_uses.is_empty() {
        #[derive(Debug)]
        struct Ages(Vec<(AccountLabels, f64)>);
        impl prometheus_client::collector::Collector for Ages {
            fn encode(&self, enc: DescriptorEncoder) -> std::fmt::Result {
                Out { enc }.gauges(
                    Fam::RootLastUsedSeconds,
                    self.0.iter().map(|(l, age)| (l.as_slice(), *age)),
                )
            }
        }
        let ages = root_uses
            .iter()
            .map(|r| (r.labels.clone(), (now - r.at as f64).max(0.0)))
            .collect();
        let rendered = Rendered::encode(Ages(ages));
        let f = Fam::RootLastUsedSeconds as usize;
        let samples = rendered.samples(f);
        if !samples.is_empty() {
            out.extend_from_slice(&headers(format)[f]);
            out.extend_from_slice(samples);
        }
    }
    if format == Format::OpenMetrics {
        out.extend_from_slice(b"# EOF\n");
    }
    Bytes::from(out)
}

/// A gzip stream whose head (gzip header + the deflated body, sync-flushed) is made once per
/// publication; a scrape appends the deflated tail and the trailer. One gzip member, so every
/// client decodes it, and the big part is compressed once, not per scrape.
#[derive(Debug, Clone)]
pub struct Precompressed {
    head: Bytes,
    crc: crc32fast::Hasher,
    len: u64,
}

pub(super) const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

impl Precompressed {
    /// Compresses a body given as chunks, in order (no contiguous copy is needed).
    pub fn new<'a>(chunks: impl IntoIterator<Item = &'a [u8]> + Clone) -> Precompressed {
        let len: usize = chunks.clone().into_iter().map(<[u8]>::len).sum();
        let mut head = Vec::with_capacity(len / 6 + 64);
        head.extend_from_slice(&GZIP_HEADER);
        let mut enc = flate2::write::DeflateEncoder::new(head, flate2::Compression::fast());
        let mut crc = crc32fast::Hasher::new();
        for chunk in chunks {
            // Writes into a Vec cannot fail.
            let _ = enc.write_all(chunk);
            crc.update(chunk);
        }
        let _ = enc.flush();
        let mut head = std::mem::take(enc.get_mut());
        head.shrink_to_fit();
        Precompressed {
            head: Bytes::from(head),
            crc,
            len: len as u64,
        }
    }

    /// The head, and the deflated tail with the gzip trailer.
    pub fn finish(&self, tail: &[u8]) -> [Bytes; 2] {
        let mut enc = flate2::write::DeflateEncoder::new(
            Vec::with_capacity(tail.len() / 2 + 32),
            flate2::Compression::fast(),
        );
        let _ = enc.write_all(tail);
        let mut end = enc.finish().unwrap_or_default();
        let mut crc = self.crc.clone();
        crc.update(tail);
        end.extend_from_slice(&crc.finalize().to_le_bytes());
        // ISIZE is the length modulo 2^32 (RFC 1952).
        end.extend_from_slice(&((self.len + tail.len() as u64) as u32).to_le_bytes());
        [self.head.clone(), Bytes::from(end)]
    }

    pub fn compressed_len(&self) -> usize {
        self.head.len()
    }
}

/// One piece of a published body. The same list serves both formats: only headers differ.
#[derive(Debug, Clone)]
pub(super) enum Piece {
    /// Family `f`'s `# HELP`/`# TYPE` lines, in the format being served.
    Header(usize),
    /// Sample lines: a slice of a rendered part's text, or of a group's glue buffer.
    Samples(Bytes),
}

/// Sample runs shorter than this are copied into one glue buffer per group of parts instead of
/// being served as chunks of their own, so that a body of many small accounts is a few chunks
/// per family rather than families x accounts. Runs this long and longer (the per-user
/// families of a large account) are shared, never copied.
pub(super) const GLUE_BELOW: usize = 4096;

/// Parts per [`Group`]: 32 accounts (data and self-metrics). A refresh changes its account's
/// group, so a publication copies about 32 accounts' small samples however many accounts there
/// are; the piece list grows by one run per family per group. Measured: docs/performance.md, "Numbers behind the code".
const GROUP_PARTS: usize = 64;

/// The pieces of consecutive parts, by family: their small sample runs glued into one buffer,
/// large runs shared. The next publication keeps a group whose parts are the same `Arc`s, so
/// its cost follows what changed, not the size of the whole exposition.
#[derive(Debug)]
struct Group {
    parts: Vec<Arc<Rendered>>,
    /// `runs[f]`: family `f`'s sample pieces, in part order.
    runs: Vec<Vec<Bytes>>,
}

impl Group {
    fn new(parts: &[Arc<Rendered>]) -> Group {
        enum Draft {
            Shared(Bytes),
            Glue(Range<usize>),
        }
        let glue_len: usize = parts
            .iter()
            .flat_map(|p| (0..FAMILIES.len()).map(move |i| p.samples(i).len()))
            .filter(|&n| n < GLUE_BELOW)
            .sum();
        let mut glue = Vec::with_capacity(glue_capacity(glue_len));
        let mut drafts: Vec<Vec<Draft>> = Vec::with_capacity(FAMILIES.len());
        for i in 0..FAMILIES.len() {
            let mut runs = Vec::new();
            for p in parts {
                let samples = p.samples(i);
                if samples.is_empty() {
                    continue;
                }
                if samples.len() >= GLUE_BELOW {
                    runs.push(Draft::Shared(p.samples_shared(i)));
                    continue;
                }
                let start = glue.len();
                glue.extend_from_slice(samples);
                match runs.last_mut() {
                    Some(Draft::Glue(run)) if run.end == start => run.end = glue.len(),
                    _ => runs.push(Draft::Glue(start..glue.len())),
                }
            }
            drafts.push(runs);
        }
        let glue = Bytes::from(glue);
        Group {
            parts: parts.to_vec(),
            runs: drafts
                .into_iter()
                .map(|runs| {
                    runs.into_iter()
                        .map(|d| match d {
                            Draft::Shared(b) => b,
                            Draft::Glue(run) => glue.slice(run),
                        })
                        .collect()
                })
                .collect(),
        }
    }

    fn holds(&self, parts: &[Arc<Rendered>]) -> bool {
        self.parts.len() == parts.len()
            && self.parts.iter().zip(parts).all(|(a, b)| Arc::ptr_eq(a, b))
    }
}

/// The capacity of a group's glue buffer. A publication makes one and drops one (the group
/// it replaced); glued hundreds of KiB at a time from whichever thread publishes, they stayed
/// in glibc's per-thread arenas once freed, and RSS grew (docs/performance.md, "Numbers behind the code"). A buffer
/// of 64 KiB or more is asked at the mmap threshold: a mapping of its own, given back when
/// freed; the pages past its length are never touched, so they cost no memory.
fn glue_capacity(len: usize) -> usize {
    if len >= 64 * 1024 {
        len.max(crate::MALLOC_MMAP_THRESHOLD)
    } else {
        len
    }
}

/// What scrapes read: swapped in whole after each refresh.
///
/// The sample text is held once, by the rendered parts: a body is a list of pieces (family
/// headers of the format asked for, and slices of the parts' text), so the classic and the
/// OpenMetrics forms cost no copy of the samples. Their gzip heads are compressed on the first
/// request for each and kept until the next publication (`OnceLock`): concurrent first requests
/// wait for that one compression rather than compressing again, and no lock is shared with the
/// refresh, which only swaps in a new `Published`.
#[derive(Debug)]
pub struct Published {
    pieces: Vec<Piece>,
    /// The account parts' groups, then the exporter-level parts' (see [`Published::build_after`]).
    groups: Vec<Arc<Group>>,
    /// Bytes of the pieces under [`GLUE_BELOW`] by [`Format`], copied per plain scrape.
    small_len: [usize; 2],
    /// Gzip heads, by [`Format`], built on first request.
    gzip: [OnceLock<Precompressed>; 2],
    /// How many gzip heads were compressed (at most one per format), for tests and benchmarks.
    gzip_builds: AtomicUsize,
    pub root_uses: Vec<RootUse>,
}

impl Published {
    /// A publication of `parts`, in order, built from scratch (tests, benchmarks).
    pub fn build<'a>(
        parts: impl Iterator<Item = &'a Rendered>,
        root_uses: Vec<RootUse>,
    ) -> Published {
        let parts: Vec<Arc<Rendered>> = parts.map(|p| Arc::new(p.clone())).collect();
        Published::build_after(&parts, &[], root_uses, None)
    }

    /// The publication of the accounts' parts then the exporter-level parts (which change at
    /// every publication, so they have a group of their own), keeping `previous`'s groups
    /// whose parts are unchanged.
    pub fn build_after(
        accounts: &[Arc<Rendered>],
        exporter: &[Arc<Rendered>],
        root_uses: Vec<RootUse>,
        previous: Option<&Published>,
    ) -> Published {
        let chunks = accounts
            .chunks(GROUP_PARTS)
            .chain((!exporter.is_empty()).then_some(exporter));
        let groups: Vec<Arc<Group>> = chunks
            .enumerate()
            .map(|(g, parts)| {
                previous
                    .and_then(|p| p.groups.get(g))
                    .filter(|old| old.holds(parts))
                    .cloned()
                    .unwrap_or_else(|| Arc::new(Group::new(parts)))
            })
            .collect();
        let mut pieces = Vec::new();
        for i in 0..FAMILIES.len() {
            if groups.iter().all(|g| g.runs[i].is_empty()) {
                continue;
            }
            pieces.push(Piece::Header(i));
            for g in &groups {
                pieces.extend(g.runs[i].iter().cloned().map(Piece::Samples));
            }
        }
        Published {
            small_len: [Format::Classic, Format::OpenMetrics].map(|format| {
                let headers = headers(format);
                pieces
                    .iter()
                    .map(|p| match p {
                        Piece::Header(i) => headers[*i].len(),
                        Piece::Samples(b) => b.len(),
                    })
                    .filter(|&n| n < GLUE_BELOW)
                    .sum()
            }),
            pieces,
            groups,
            gzip: [OnceLock::new(), OnceLock::new()],
            gzip_builds: AtomicUsize::new(0),
            root_uses,
        }
    }

    /// How many of this publication's groups it shares with `other`.
    #[cfg(test)]
    pub fn groups_shared_with(&self, other: &Published) -> usize {
        self.groups
            .iter()
            .zip(&other.groups)
            .filter(|(a, b)| Arc::ptr_eq(a, b))
            .count()
    }

    /// The body without the tail, as chunks borrowed from this publication.
    fn chunks(&self, format: Format) -> impl Iterator<Item = &[u8]> + Clone + '_ {
        let headers = headers(format);
        self.pieces.iter().map(move |p| match p {
            Piece::Header(i) => &headers[*i][..],
            Piece::Samples(b) => &b[..],
        })
    }

    /// The gzip head of a format, compressed by the first request that needs it.
    fn gzip_head(&self, format: Format) -> &Precompressed {
        self.gzip[format as usize].get_or_init(|| {
            self.gzip_builds.fetch_add(1, Ordering::Relaxed);
            Precompressed::new(self.chunks(format))
        })
    }

    /// The chunks of a scrape response: reference-counted pieces of this publication plus a
    /// small tail, or with `gzip` the (possibly just compressed) head and the deflated tail.
    pub fn body(&self, format: Format, gzip: bool, now: f64) -> Vec<Bytes> {
        let tail = tail(&self.root_uses, now, format);
        if gzip {
            return self.gzip_head(format).finish(&tail).into();
        }
        // Small pieces (headers, glued runs) are copied together into one chunk per stretch,
        // a few KiB per scrape: each chunk is a separate write and TCP segment, and a chunk per
        // piece made plain scrapes measurably slower (docs/performance.md, "Numbers behind the
        // code"). Large runs are sent as they are.
        let headers = headers(format);
        let mut small = BytesMut::with_capacity(self.small_len[format as usize] + tail.len());
        let mut chunks = Vec::with_capacity(self.pieces.len() / 2 + 2);
        for piece in &self.pieces {
            let piece = match piece {
                Piece::Header(i) => &headers[*i],
                Piece::Samples(b) => b,
            };
            if piece.len() < GLUE_BELOW {
                small.extend_from_slice(piece);
                continue;
            }
            if !small.is_empty() {
                chunks.push(small.split().freeze());
            }
            chunks.push(piece.clone());
        }
        small.extend_from_slice(&tail);
        chunks.push(small.freeze());
        chunks
    }

    /// Writes the whole classic exposition (`--once`): the pieces as they are, no copy.
    pub fn write_classic(&self, out: &mut impl std::io::Write, now: f64) -> std::io::Result<()> {
        for chunk in self.chunks(Format::Classic) {
            out.write_all(chunk)?;
        }
        out.write_all(&tail(&self.root_uses, now, Format::Classic))
    }

    /// The whole classic exposition as text.
    #[cfg(test)]
    pub fn classic_text(&self, now: f64) -> String {
        let mut out = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = self.write_classic(&mut out, now);
        // Every piece comes from a String, so this never replaces anything.
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// The size of a format's gzip head (compressing it if no request has yet).
    pub fn gzip_len(&self, format: Format) -> usize {
        self.gzip_head(format).compressed_len()
    }

    /// How many gzip heads this publication has compressed so far (at most one per format).
    #[cfg(test)]
    pub fn gzip_builds(&self) -> usize {
        self.gzip_builds.load(Ordering::Relaxed)
    }

    /// Body chunks without the tail (the number of frames a plain scrape sends, minus one).
    pub fn pieces(&self) -> usize {
        self.pieces.len()
    }
}

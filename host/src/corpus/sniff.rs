//! What a file is, by its first bytes: compression (gzip, zstd), the text
//! format inside (JSONL, CSV, TSV) or Parquet, and for other binary files a
//! name for what they look like, so a wrong file is one clear error rather
//! than hundreds of `invalid-utf8` drops.

use std::io::{self, BufReader, Read};
use std::path::Path;

use moshead_protocol::Format;

/// How much of a file's (decompressed) start is looked at.
const HEAD: usize = 64 << 10;

/// A compression recognised by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain bytes.
    None,
    /// gzip (RFC 1952), members concatenated as `gzip -c a b` writes them.
    Gzip,
    /// Zstandard frames.
    Zstd,
}

impl Compression {
    /// Recognises `head` by its magic bytes.
    pub fn of(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// Its name in reports (`None` for plain bytes).
    pub fn name(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gzip"),
            Compression::Zstd => Some("zstd"),
        }
    }
}

/// What a binary file that is not an input looks like, by its magic bytes.
pub fn looks_like(head: &[u8]) -> Option<&'static str> {
    const MAGIC: [(&[u8], &str); 12] = [
        (b"PK\x03\x04", "a ZIP archive (also .xlsx, .docx, .jar)"),
        (b"PK\x05\x06", "an empty ZIP archive"),
        (b"\x89PNG\r\n\x1a\n", "a PNG image"),
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"\x7fELF", "an ELF executable or library"),
        (b"\xfd7zXZ\x00", "an xz archive"),
        (b"BZh", "a bzip2 archive"),
        (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
        (b"%PDF", "a PDF document"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
            "an old Microsoft Office file (.xls, .doc)",
        ),
        (b"\x04\x22\x4d\x18", "an LZ4 frame"),
    ];
    if let Some((_, what)) = MAGIC.iter().find(|(m, _)| head.starts_with(m)) {
        return Some(what);
    }
    if head.len() > 262 && &head[257..262] == b"ustar" {
        return Some("a tar archive");
    }
    if head.starts_with(b"\x00\x00\x00") && head.get(4..8) == Some(b"ftyp") {
        return Some("an MP4/MOV video");
    }
    if head.starts_with(b"\x1aE\xdf\xa3") {
        return Some("a Matroska/WebM video");
    }
    None
}

/// Opens `path`, decompressing gzip or zstd by magic bytes. Returns the
/// reader of the (decompressed) bytes and the compression found.
pub fn open(path: &Path) -> io::Result<(Box<dyn Read + Send>, Compression)> {
    let mut file = crate::safe_fs::open_read(path)?;
    let mut magic = [0u8; 4];
    let n = read_full(&mut file, &mut magic)?;
    let compression = Compression::of(&magic[..n]);
    let start = io::Cursor::new(magic[..n].to_vec()).chain(file);
    Ok((decoder(start, compression)?, compression))
}

/// `inner` decompressed as `compression` says.
pub fn decoder<R: Read + Send + 'static>(
    inner: R,
    compression: Compression,
) -> io::Result<Box<dyn Read + Send>> {
    Ok(match compression {
        Compression::None => Box::new(inner),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
            1 << 16,
            inner,
        ))),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(inner)?),
    })
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
pub(super) fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Why a file is no row input: each variant carries what it refuses, and
/// its message is the reason (the caller names the file and slot).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RowFormatError {
    /// The file cannot be opened or read.
    #[error("{}", io_reason(.0))]
    Io(#[source] io::Error),
    /// The file's first bytes are a known non-row format.
    #[error("this looks like {0}, not a row file (JSONL, CSV, TSV or Parquet, optionally gzip- or zstd-compressed)")]
    NotRows(&'static str),
    /// A compressed file whose stream does not decode.
    #[error("not readable as {compression}: {source}")]
    Undecodable {
        /// The compression its magic bytes name.
        compression: &'static str,
        /// The decoder's error.
        #[source]
        source: io::Error,
    },
    /// A compressed Parquet file.
    #[error("{}: decompress it first (Parquet compresses its own pages)", inner(*.0, "Parquet file"))]
    CompressedParquet(Option<&'static str>),
    /// Decompressed content is a known non-row format.
    #[error("this is {}, not a row file", inner(*.compression, .what.trim_start_matches("a ").trim_start_matches("an ")))]
    CompressedNotRows {
        /// The compression, if any.
        compression: Option<&'static str>,
        /// What the content looks like.
        what: &'static str,
    },
    /// Binary content.
    #[error("this is {} (NUL bytes, or mostly invalid UTF-8, in its first {sampled} bytes), not a row file", inner(*.compression, "binary data"))]
    Binary {
        /// The compression, if any.
        compression: Option<&'static str>,
        /// How many bytes were sampled.
        sampled: usize,
    },
}

/// `what`, prefixed by the compression that wraps it.
fn inner(compression: Option<&str>, what: &str) -> String {
    match compression {
        Some(c) => format!("{c}-compressed {what}"),
        None => what.to_owned(),
    }
}

/// The format of a row input, by content; the extension (without `.gz`,
/// `.zst`) decides only where content cannot (a one-column header). `Err`
/// is the reason the file is no row input.
pub fn row_format(path: &Path) -> Result<(Format, Compression), RowFormatError> {
    let mut raw = [0u8; 512];
    let n = crate::safe_fs::open_read(path)
        .map_err(std::io::Error::from)
        .and_then(|mut f| read_full(&mut f, &mut raw))
        .map_err(RowFormatError::Io)?;
    let raw = &raw[..n];
    if raw.starts_with(b"PAR1") {
        return Ok((Format::Parquet, Compression::None));
    }
    let compression = Compression::of(raw);
    if compression == Compression::None {
        if let Some(what) = looks_like(raw) {
            return Err(RowFormatError::NotRows(what));
        }
    }
    let (mut reader, _) = open(path).map_err(RowFormatError::Io)?;
    let mut head = vec![0u8; HEAD];
    let n = read_full(&mut reader, &mut head).map_err(|source| match compression.name() {
        Some(compression) => RowFormatError::Undecodable {
            compression,
            source,
        },
        None => RowFormatError::Io(source),
    })?;
    head.truncate(n);
    let compression = compression.name();
    if head.starts_with(b"PAR1") {
        return Err(RowFormatError::CompressedParquet(compression));
    }
    if let Some(what) = looks_like(&head) {
        return Err(RowFormatError::CompressedNotRows { compression, what });
    }
    if is_binary(&head) {
        return Err(RowFormatError::Binary {
            compression,
            sampled: head.len(),
        });
    }
    Ok((text_format(path, &head), Compression::of(raw)))
}

/// Binary by content: more than 1 in 32 of the sample's bytes are NUL or
/// outside valid UTF-8, and at least 16 of them (or, in a tiny sample, more
/// than a quarter). A text file with a few bad lines is
/// text: those lines are counted drops (`invalid-utf8`, `malformed-json`).
fn is_binary(head: &[u8]) -> bool {
    let mut odd = memchr::memchr_iter(0, head).count();
    let mut rest = head;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(_) => break,
            Err(e) => {
                // A sequence cut at the end of the sample is not an error.
                let Some(bad) = e.error_len() else { break };
                odd += bad;
                rest = &rest[e.valid_up_to() + bad..];
            }
        }
    }
    odd * 32 > head.len() && (odd >= 16 || odd * 4 > head.len())
}

/// JSONL when the first non-blank text is `{`; else CSV or TSV by the
/// header's separators outside quotes; else by extension.
fn text_format(path: &Path, head: &[u8]) -> Format {
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let first = text.iter().find(|b| !b.is_ascii_whitespace());
    if matches!(first, Some(b'{') | Some(b'[')) || first.is_none() {
        return Format::Jsonl;
    }
    let (mut commas, mut tabs, mut quoted) = (0usize, 0usize, false);
    for b in text {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            b',' if !quoted => commas += 1,
            b'\t' if !quoted => tabs += 1,
            _ => {}
        }
    }
    if tabs > commas {
        return Format::Tsv;
    }
    if commas > 0 {
        return Format::Csv;
    }
    match plain_extension(path).as_deref() {
        Some("tsv") | Some("tab") => Format::Tsv,
        Some("csv") => Format::Csv,
        _ => Format::Jsonl,
    }
}

/// The extension with a compression suffix removed, lowercase.
pub fn plain_extension(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    let name = ["gz", "zst", "zstd"]
        .iter()
        .find_map(|c| name.strip_suffix(&format!(".{c}")))
        .unwrap_or(&name)
        .to_owned();
    Path::new(&name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_owned)
}

/// A short reason for an I/O error.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "does not exist".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// [`row_format`] with its error shown as the reason.
    fn shown(path: &Path) -> Result<(Format, Compression), String> {
        row_format(path).map_err(|e| e.to_string())
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn formats_by_content_then_extension() {
        let d = tempfile::tempdir().unwrap();
        let f = |name: &str, bytes: &[u8]| shown(&write(d.path(), name, bytes));
        assert_eq!(
            f("a.csv", b"{\"a\":1}\n"),
            Ok((Format::Jsonl, Compression::None))
        );
        assert_eq!(
            f("a.txt", b"a,b\n1,2\n"),
            Ok((Format::Csv, Compression::None))
        );
        assert_eq!(
            f("a.csv", b"a\tb,c\td\n"),
            Ok((Format::Tsv, Compression::None))
        );
        assert_eq!(
            f("a.txt", b"\"x,y\"\tb\n"),
            Ok((Format::Tsv, Compression::None))
        );
        assert_eq!(
            f("a.tsv", b"mos\n3\n"),
            Ok((Format::Tsv, Compression::None))
        );
        assert_eq!(
            f("a.csv.gz", &gz(b"mos\n3\n")),
            Ok((Format::Csv, Compression::Gzip))
        );
        let zst = zstd::encode_all(&b"a,b\n"[..], 1).unwrap();
        assert_eq!(f("x", &zst), Ok((Format::Csv, Compression::Zstd)));
        assert_eq!(
            f("t.parquet", b"PAR1xxxx"),
            Ok((Format::Parquet, Compression::None))
        );
    }

    #[test]
    fn binary_files_are_named() {
        let d = tempfile::tempdir().unwrap();
        let f = |name: &str, bytes: &[u8]| shown(&write(d.path(), name, bytes)).unwrap_err();
        assert!(f("a.jsonl", b"PK\x03\x04rest").contains("ZIP archive"));
        assert!(f("a.jsonl", b"\x89PNG\r\n\x1a\n....").contains("PNG image"));
        assert!(f("a.jsonl", b"\x7fELF\x02\x01").contains("ELF"));
        assert!(f("a.jsonl", b"\xfd7zXZ\x00\x00").contains("xz archive"));
        assert!(f("a.jsonl", b"BZh91AY&SY").contains("bzip2"));
        assert!(f("a.jsonl", &gz(b"\x89PNG\r\n\x1a\n")).contains("gzip-compressed PNG image"));
        assert!(f("a.jsonl", &[&b"{\"a\":1}"[..], &[0; 8]].concat()).contains("binary data"));
        // One NUL in a short text file is a bad line, not a binary file.
        let one_nul = b"{\"src\":\"a\x00b\",\"mos\":3.0,\"adm2\":0.9}\n";
        assert_eq!(
            shown(&write(d.path(), "nul.jsonl", one_nul)),
            Ok((Format::Jsonl, Compression::None))
        );
        assert!(
            f("a.jsonl", &[0xc3u8, 0x28, 0xa0, 0xa1, 0xe2, 0x28].repeat(8)).contains("binary data")
        );
        let mostly_text = [&b"{\"a\":1}\n"[..]; 20].concat();
        let one_bad = [&mostly_text[..], b"{\"a\":\"\xff\xfe\"}\n"].concat();
        assert_eq!(
            shown(&write(d.path(), "ok.jsonl", &one_bad)),
            Ok((Format::Jsonl, Compression::None))
        );
        assert!(f("a.jsonl", &gz(b"PAR1....")).contains("decompress it first"));
        assert!(f("a.jsonl.gz", b"\x1f\x8b\x08garbage").contains("not readable as gzip"));
    }

    #[test]
    fn extensions_without_compression_suffixes() {
        assert_eq!(
            plain_extension(Path::new("a/b.CSV.gz")).as_deref(),
            Some("csv")
        );
        assert_eq!(
            plain_extension(Path::new("b.tsv.zst")).as_deref(),
            Some("tsv")
        );
        assert_eq!(plain_extension(Path::new("b")), None);
    }
    /// Sniffing opens without waiting: a FIFO (or a directory) put where a
    /// row file was checked is refused, never waited on, whatever checked
    /// it before.
    #[test]
    fn a_fifo_or_directory_is_refused_not_waited_on() {
        use std::os::unix::ffi::OsStrExt as _;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("rows.csv");
        let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = row_format(&fifo).unwrap_err().to_string();
        assert!(
            e.contains("is a FIFO") && e.contains("only regular files"),
            "{e}"
        );
        let e = open(&fifo).err().unwrap().to_string();
        assert!(e.contains("is a FIFO"), "{e}");
        let e = row_format(dir.path()).unwrap_err().to_string();
        assert!(e.contains("directory"), "{e}");
    }
}

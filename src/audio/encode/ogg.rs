//! Ogg pages (RFC 3533) for one logical stream, written as packets arrive.

/// Header-type flags.
const CONTINUED: u8 = 0x01;
const FIRST: u8 = 0x02;
const LAST: u8 = 0x04;
/// Granule position of a page on which no packet ends.
const NO_GRANULE: u64 = u64::MAX;

pub(super) struct OggWriter {
    serial: u32,
    sequence: u32,
}

/// One packet and the granule position at its end.
pub(super) struct Packet<'a> {
    pub data: &'a [u8],
    pub granule: u64,
}

impl OggWriter {
    pub(super) fn new(serial: u32) -> Self {
        Self {
            serial,
            sequence: 0,
        }
    }

    /// Writes `packets` on as few pages as Ogg allows (255 segments each), the last page
    /// ending with the last packet, so that everything written so far can be played.
    /// `last` marks the final page as the end of the stream.
    pub(super) fn write(&mut self, packets: &[Packet<'_>], last: bool, out: &mut Vec<u8>) {
        let mut page = Page::default();
        for (i, packet) in packets.iter().enumerate() {
            let mut rest = packet.data;
            loop {
                if page.lacing.len() == 255 {
                    self.flush(&mut page, false, out);
                    page.flags = CONTINUED;
                }
                let n = rest.len().min(255);
                page.lacing.push(n as u8);
                page.body.extend_from_slice(&rest[..n]);
                rest = &rest[n..];
                // A segment shorter than 255 bytes (possibly empty) ends the packet.
                if n < 255 {
                    break;
                }
            }
            page.granule = packet.granule;
            if page.lacing.len() == 255 && i + 1 < packets.len() {
                self.flush(&mut page, false, out);
            }
        }
        if !page.lacing.is_empty() || last {
            self.flush(&mut page, last, out);
        }
    }

    fn flush(&mut self, page: &mut Page, last: bool, out: &mut Vec<u8>) {
        let mut flags = page.flags;
        if self.sequence == 0 {
            flags |= FIRST;
        }
        if last {
            flags |= LAST;
        }
        let start = out.len();
        out.extend_from_slice(b"OggS");
        out.push(0); // version
        out.push(flags);
        out.extend_from_slice(&page.granule.to_le_bytes());
        out.extend_from_slice(&self.serial.to_le_bytes());
        out.extend_from_slice(&self.sequence.to_le_bytes());
        out.extend_from_slice(&[0; 4]); // checksum, filled in below
        out.push(page.lacing.len() as u8);
        out.extend_from_slice(&page.lacing);
        out.extend_from_slice(&page.body);
        let crc = crc32(&out[start..]);
        out[start + 22..start + 26].copy_from_slice(&crc.to_le_bytes());
        self.sequence = self.sequence.wrapping_add(1);
        *page = Page::default();
    }
}

struct Page {
    flags: u8,
    granule: u64,
    lacing: Vec<u8>,
    body: Vec<u8>,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            flags: 0,
            granule: NO_GRANULE,
            lacing: Vec::new(),
            body: Vec::new(),
        }
    }
}

/// Ogg's CRC-32: polynomial 0x04C11DB7, no reflection, initial value and final XOR 0.
pub(super) fn crc32(bytes: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut table = [0u32; 256];
        for (i, entry) in table.iter_mut().enumerate() {
            let mut r = (i as u32) << 24;
            for _ in 0..8 {
                r = if r & 0x8000_0000 != 0 {
                    (r << 1) ^ 0x04C1_1DB7
                } else {
                    r << 1
                };
            }
            *entry = r;
        }
        table
    });
    bytes.iter().fold(0u32, |crc, &b| {
        (crc << 8) ^ table[usize::from((crc >> 24) as u8 ^ b)]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_ogg_reference() {
        // CRC-32/MPEG-2 without the initial 0xFFFFFFFF is CRC-32/"OGG": check value 0x89A1897F.
        assert_eq!(crc32(b"123456789"), 0x89A1_897F);
    }

    #[test]
    fn long_packets_continue_on_the_next_page() {
        let big = vec![7u8; 255 * 300];
        let mut w = OggWriter::new(1);
        let mut out = Vec::new();
        w.write(
            &[Packet {
                data: &big,
                granule: 960,
            }],
            true,
            &mut out,
        );
        // 300 full segments plus the terminating empty one: 255 on the first page, 46 on
        // the second, which continues the packet, carries the granule and ends the stream.
        let second = 27 + 255 + 255 * 255;
        assert_eq!(&out[second..second + 4], b"OggS");
        assert_eq!(out[5], FIRST);
        assert_eq!(
            u64::from_le_bytes(out[6..14].try_into().unwrap()),
            NO_GRANULE
        );
        assert_eq!(out[second + 5], CONTINUED | LAST);
        assert_eq!(out[second + 26], 46);
        assert_eq!(
            u64::from_le_bytes(out[second + 6..second + 14].try_into().unwrap()),
            960
        );
        assert_eq!(out.len(), second + 27 + 46 + 255 * 45);
    }
}

//! `flac`: a small streaming FLAC writer (RFC 9639), lossless, mono 16-bit at the input rate.
//!
//! The stream starts with `fLaC` and a STREAMINFO block whose total length, frame sizes and
//! MD5 are 0 ("unknown", which the format allows), so nothing needs patching afterwards. The
//! samples follow in fixed-size frames of [`BLOCK`] samples (the last one shorter), each
//! encoded with whichever of the constant, verbatim or fixed-predictor (orders 0–4)
//! subframes is smallest, the residual Rice-coded with the best partitioning.

/// Samples per frame: libFLAC's default, and within the streamable subset.
const BLOCK: usize = 4096;
/// Largest Rice parameter used (15 is the escape code).
const MAX_RICE: usize = 14;
/// Largest partition order (the subset's limit).
const MAX_PARTITION_ORDER: u32 = 8;

pub(super) struct FlacEncoder {
    rate: u32,
    header_written: bool,
    block: Vec<i32>,
    frame_number: u64,
    residual: Vec<u32>,
}

impl FlacEncoder {
    pub(super) fn new(rate: u32) -> Self {
        Self {
            rate,
            header_written: false,
            block: Vec::with_capacity(BLOCK),
            frame_number: 0,
            residual: Vec::with_capacity(BLOCK),
        }
    }

    pub(super) fn push(&mut self, samples: &[i16], out: &mut Vec<u8>) {
        self.write_header(out);
        for &sample in samples {
            self.block.push(i32::from(sample));
            if self.block.len() == BLOCK {
                self.write_frame(out);
            }
        }
    }

    pub(super) fn finish(mut self, out: &mut Vec<u8>) {
        self.write_header(out);
        if !self.block.is_empty() {
            self.write_frame(out);
        }
    }

    fn write_header(&mut self, out: &mut Vec<u8>) {
        if std::mem::replace(&mut self.header_written, true) {
            return;
        }
        out.extend_from_slice(b"fLaC");
        let mut w = BitWriter::default();
        w.put(1, 1); // last metadata block
        w.put(0, 7); // STREAMINFO
        w.put(34, 24);
        w.put(BLOCK as u64, 16); // minimum block size (the last block does not count)
        w.put(BLOCK as u64, 16); // maximum block size
        w.put(0, 24); // minimum frame size: unknown
        w.put(0, 24); // maximum frame size: unknown
        w.put(u64::from(self.rate), 20);
        w.put(0, 3); // channels - 1
        w.put(15, 5); // bits per sample - 1
        w.put(0, 36); // total samples: unknown
        w.put(0, 64); // MD5: unknown
        w.put(0, 64);
        out.extend_from_slice(&w.into_bytes());
    }

    fn write_frame(&mut self, out: &mut Vec<u8>) {
        let n = self.block.len();
        let mut w = BitWriter::default();
        // Header: sync code, reserved bit, fixed-blocksize strategy.
        w.put(0b11_1111_1111_1110, 14);
        w.put(0, 1);
        w.put(0, 1);
        let (size_code, size_extra) = match n {
            BLOCK => (0b1100, None),
            1..=256 => (0b0110, Some((n as u64 - 1, 8))),
            _ => (0b0111, Some((n as u64 - 1, 16))),
        };
        w.put(size_code, 4);
        let (rate_code, rate_extra) = rate_code(self.rate);
        w.put(rate_code, 4);
        w.put(0b0000, 4); // one channel
        w.put(0b100, 3); // 16 bits per sample
        w.put(0, 1);
        put_utf8(&mut w, self.frame_number);
        if let Some((value, bits)) = size_extra {
            w.put(value, bits);
        }
        if let Some((value, bits)) = rate_extra {
            w.put(value, bits);
        }
        let crc = crc8(w.bytes_so_far());
        w.put(u64::from(crc), 8);
        self.write_subframe(&mut w);
        w.align();
        let crc = crc16(w.bytes_so_far());
        w.put(u64::from(crc), 16);
        out.extend_from_slice(&w.into_bytes());
        self.block.clear();
        self.frame_number += 1;
    }

    fn write_subframe(&mut self, w: &mut BitWriter) {
        let x = &self.block;
        let n = x.len();
        if x.iter().all(|&v| v == x[0]) {
            w.put(0, 1);
            w.put(0b000000, 6); // CONSTANT
            w.put(0, 1);
            w.put_signed(x[0], 16);
            return;
        }
        let verbatim_bits = 16 * n as u64;
        let mut best: Option<(u64, usize, Partitioning)> = None;
        for order in 0..=4usize {
            if n <= order {
                break;
            }
            fixed_residual(x, order, &mut self.residual);
            let part = best_partitioning(&self.residual, n, order);
            let bits = 16 * order as u64 + part.bits;
            if best.as_ref().is_none_or(|(b, _, _)| bits < *b) {
                best = Some((bits, order, part));
            }
        }
        match best {
            Some((bits, order, part)) if bits < verbatim_bits => {
                w.put(0, 1);
                w.put(0b001000 | order as u64, 6); // FIXED, order
                w.put(0, 1);
                for &v in &x[..order] {
                    w.put_signed(v, 16);
                }
                fixed_residual(x, order, &mut self.residual);
                write_residual(w, &self.residual, n, order, &part);
            }
            _ => {
                w.put(0, 1);
                w.put(0b000001, 6); // VERBATIM
                w.put(0, 1);
                for &v in x {
                    w.put_signed(v, 16);
                }
            }
        }
    }
}

/// The frame header's sample-rate code and any value that follows the header.
fn rate_code(rate: u32) -> (u64, Option<(u64, u32)>) {
    let code = match rate {
        88_200 => 0b0001,
        176_400 => 0b0010,
        192_000 => 0b0011,
        8_000 => 0b0100,
        16_000 => 0b0101,
        22_050 => 0b0110,
        24_000 => 0b0111,
        32_000 => 0b1000,
        44_100 => 0b1001,
        48_000 => 0b1010,
        96_000 => 0b1011,
        _ if rate.is_multiple_of(1000) && rate / 1000 <= 255 => {
            return (0b1100, Some((u64::from(rate / 1000), 8)));
        }
        _ if rate <= 65_535 => return (0b1101, Some((u64::from(rate), 16))),
        _ if rate.is_multiple_of(10) && rate / 10 <= 65_535 => {
            return (0b1110, Some((u64::from(rate / 10), 16)));
        }
        _ => 0b0000, // from STREAMINFO
    };
    (code, None)
}

/// The zigzag-folded residual of the fixed predictor of `order`, for samples order..n.
fn fixed_residual(x: &[i32], order: usize, out: &mut Vec<u32>) {
    out.clear();
    let fold = |r: i32| ((r << 1) ^ (r >> 31)) as u32;
    for i in order..x.len() {
        let r = match order {
            0 => x[i],
            1 => x[i] - x[i - 1],
            2 => x[i] - 2 * x[i - 1] + x[i - 2],
            3 => x[i] - 3 * x[i - 1] + 3 * x[i - 2] - x[i - 3],
            _ => x[i] - 4 * x[i - 1] + 6 * x[i - 2] - 4 * x[i - 3] + x[i - 4],
        };
        // 16-bit input keeps |r| below 2^20, so neither step overflows.
        out.push(fold(r));
    }
}

/// A Rice partitioning of one residual: its order, one parameter per partition, total bits.
struct Partitioning {
    order: u32,
    params: Vec<u8>,
    bits: u64,
}

/// The partition order and Rice parameters that code `residual` (for a block of `n` samples
/// and a predictor of `order`) in the fewest bits.
fn best_partitioning(residual: &[u32], n: usize, order: usize) -> Partitioning {
    let mut max_order = 0;
    while max_order < MAX_PARTITION_ORDER
        && n.is_multiple_of(1 << (max_order + 1))
        && (n >> (max_order + 1)) > order
    {
        max_order += 1;
    }
    // costs[p][k]: the bits of partition p (at the finest order) with parameter k, less the
    // parameter itself. Coarser partitions are sums of finer ones.
    let parts = 1usize << max_order;
    let size = n >> max_order;
    let mut costs = vec![[0u64; MAX_RICE + 1]; parts];
    for (p, cost) in costs.iter_mut().enumerate() {
        let start = (p * size).saturating_sub(order);
        let end = (p + 1) * size - order;
        let part = &residual[start..end];
        let count = part.len() as u64;
        for (k, c) in cost.iter_mut().enumerate() {
            *c = count * (k as u64 + 1) + part.iter().map(|&u| u64::from(u >> k)).sum::<u64>();
        }
    }
    let mut best: Option<Partitioning> = None;
    let mut level = max_order;
    loop {
        let mut bits = 6; // coding method and partition order
        let mut params = Vec::with_capacity(costs.len());
        for cost in &costs {
            let (k, c) = cost
                .iter()
                .enumerate()
                .min_by_key(|&(_, c)| *c)
                .map_or((0, 0), |(k, c)| (k, *c));
            bits += 4 + c;
            params.push(k as u8);
        }
        if best.as_ref().is_none_or(|b| bits < b.bits) {
            best = Some(Partitioning {
                order: level,
                params,
                bits,
            });
        }
        if level == 0 {
            break;
        }
        level -= 1;
        costs = costs
            .chunks(2)
            .map(|pair| {
                let mut sum = pair[0];
                if let Some(second) = pair.get(1) {
                    for (s, c) in sum.iter_mut().zip(second) {
                        *s += c;
                    }
                }
                sum
            })
            .collect();
    }
    best.unwrap_or(Partitioning {
        order: 0,
        params: vec![MAX_RICE as u8],
        bits: u64::MAX,
    })
}

fn write_residual(
    w: &mut BitWriter,
    residual: &[u32],
    n: usize,
    order: usize,
    part: &Partitioning,
) {
    w.put(0b00, 2); // Rice, 4-bit parameters
    w.put(u64::from(part.order), 4);
    let size = n >> part.order;
    for (p, &k) in part.params.iter().enumerate() {
        w.put(u64::from(k), 4);
        let start = (p * size).saturating_sub(order);
        let end = (p + 1) * size - order;
        for &u in &residual[start..end] {
            w.put_unary(u64::from(u >> k));
            w.put(u64::from(u) & ((1 << k) - 1), u32::from(k));
        }
    }
}

/// Frame numbers are coded like UTF-8, extended to 36 bits.
fn put_utf8(w: &mut BitWriter, value: u64) {
    if value < 0x80 {
        w.put(value, 8);
        return;
    }
    // How many continuation bytes (6 bits each) follow the lead byte.
    let extra = [0x800u64, 0x1_0000, 0x20_0000, 0x400_0000, 0x8000_0000]
        .iter()
        .position(|&limit| value < limit)
        .map_or(6, |i| i as u32 + 1);
    let lead_mask: u64 = (0xFF00 >> (extra + 1)) & 0xFF;
    w.put(lead_mask | (value >> (6 * extra)), 8);
    for i in (0..extra).rev() {
        w.put(0x80 | ((value >> (6 * i)) & 0x3F), 8);
    }
}

fn crc8(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |mut crc, &b| {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 0x07
            } else {
                crc << 1
            };
        }
        crc
    })
}

fn crc16(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0u16, |mut crc, &b| {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x8005
            } else {
                crc << 1
            };
        }
        crc
    })
}

/// Big-endian bit packing.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    acc: u64,
    bits: u32,
}

impl BitWriter {
    /// Appends the low `bits` bits of `value` (at most 32 at a time internally).
    fn put(&mut self, value: u64, bits: u32) {
        if bits > 32 {
            self.put(value >> 32, bits - 32);
            self.put(value & 0xFFFF_FFFF, 32);
            return;
        }
        if bits == 0 {
            return;
        }
        let value = value & ((1u64 << bits) - 1);
        self.acc = (self.acc << bits) | value;
        self.bits += bits;
        while self.bits >= 8 {
            self.bits -= 8;
            self.bytes.push((self.acc >> self.bits) as u8);
        }
        self.acc &= (1u64 << self.bits) - 1;
    }

    fn put_signed(&mut self, value: i32, bits: u32) {
        self.put(value as u32 as u64, bits);
    }

    /// `q` zeros, then a one.
    fn put_unary(&mut self, mut q: u64) {
        while q >= 32 {
            self.put(0, 32);
            q -= 32;
        }
        self.put(1, q as u32 + 1);
    }

    /// Pads with zeros to a byte boundary.
    fn align(&mut self) {
        if self.bits > 0 {
            self.put(0, 8 - self.bits);
        }
    }

    /// The complete bytes written so far (call at a byte boundary).
    fn bytes_so_far(&self) -> &[u8] {
        &self.bytes
    }

    fn into_bytes(mut self) -> Vec<u8> {
        self.align();
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crcs_match_known_values() {
        // CRC-8/SMBUS and CRC-16/UMTS (the FLAC CRCs) of "123456789".
        assert_eq!(crc8(b"123456789"), 0xF4);
        assert_eq!(crc16(b"123456789"), 0xFEE8);
    }

    #[test]
    fn frame_numbers_are_utf8_coded() {
        for (value, want) in [
            (0x24u64, vec![0x24]),
            (0xA2, vec![0xC2, 0xA2]),
            (0x20AC, vec![0xE2, 0x82, 0xAC]),
            (0x1_0348, vec![0xF0, 0x90, 0x8D, 0x88]),
        ] {
            let mut w = BitWriter::default();
            put_utf8(&mut w, value);
            assert_eq!(w.into_bytes(), want, "{value:#x}");
        }
    }

    #[test]
    fn rice_partitioning_prefers_small_parameters_for_small_residuals() {
        let residual = vec![0u32; 4095];
        let part = best_partitioning(&residual, 4096, 1);
        assert!(part.params.iter().all(|&k| k == 0));
        // 4095 one-bit codes + 6 + 4 bits for the single partition.
        assert_eq!((part.order, part.bits), (0, 4095 + 10));
    }
}

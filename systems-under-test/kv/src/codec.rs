//! A fixed hash (FNV-1a, the same in every process: never std's randomly seeded hasher) and a
//! small hand-written binary encoding for what the store writes to disk.

/// FNV-1a, 64 bits.
pub fn fnv64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// FNV-1a, 32 bits: the checksum of a log frame.
pub fn fnv32(bytes: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in bytes {
        hash ^= u32::from(*byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// Appends fixed-width and length-prefixed fields to a buffer.
#[derive(Default)]
pub struct Encoder {
    /// The bytes written so far.
    pub bytes: Vec<u8>,
}

impl Encoder {
    /// A `u8`.
    pub fn u8(&mut self, value: u8) {
        self.bytes.push(value);
    }

    /// A `u32`, little-endian.
    pub fn u32(&mut self, value: u32) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    /// A `u64`, little-endian.
    pub fn u64(&mut self, value: u64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    /// A length-prefixed byte string.
    pub fn bytes(&mut self, value: &[u8]) {
        self.u32(value.len() as u32);
        self.bytes.extend_from_slice(value);
    }
}

/// Reads what an [`Encoder`] wrote; every read fails cleanly (`None`) on short input.
pub struct Decoder<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Decoder<'a> {
    /// A decoder over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Decoder<'a> {
        Decoder { bytes, at: 0 }
    }

    /// Whether every byte was read.
    pub fn is_done(&self) -> bool {
        self.at == self.bytes.len()
    }

    fn take(&mut self, count: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(count)?;
        let slice = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }

    /// A `u8`.
    pub fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    /// A `u32`.
    pub fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    /// A `u64`.
    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    /// A length-prefixed byte string.
    pub fn bytes(&mut self) -> Option<Vec<u8>> {
        let len = self.u32()? as usize;
        self.raw(len)
    }

    /// `len` bytes with no prefix.
    pub fn raw(&mut self, len: usize) -> Option<Vec<u8>> {
        Some(self.take(len)?.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_reference_values() {
        assert_eq!(fnv64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv32(b"a"), 0xe40c_292c);
    }

    #[test]
    fn round_trip_and_short_input() {
        let mut e = Encoder::default();
        e.u8(7);
        e.u32(9);
        e.u64(11);
        e.bytes(b"key");
        let mut d = Decoder::new(&e.bytes);
        assert_eq!(d.u8(), Some(7));
        assert_eq!(d.u32(), Some(9));
        assert_eq!(d.u64(), Some(11));
        assert_eq!(d.bytes(), Some(b"key".to_vec()));
        assert!(d.is_done());
        let mut short = Decoder::new(&e.bytes[..10]);
        short.u8();
        short.u32();
        assert_eq!(short.u64(), None);
    }
}

//! The `Full` TCP transport, server side.
//!
//! `grammers_mtproto::transport::Full` is symmetric — one send counter, one
//! receive counter, both starting at 0, CRC32 over `len ‖ seq ‖ payload` — so
//! the server uses it as is (`grammers-mtproto-0.11.0/src/transport/full.rs`).
//! What it lacks for a server is a bound on the announced length: `unpack`
//! answers `MissingBytes` for any length larger than what has arrived, so a
//! peer could make us buffer without limit. [`FrameReader`] checks the length
//! first.

use grammers_crypto::DequeBuffer;
use grammers_mtproto::transport::{Full, Transport};

/// The smallest frame: length, seq and CRC, no payload.
const MIN_FRAME_LEN: usize = 12;

/// Why a frame was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The announced length is negative, too small, too large or unaligned.
    #[error("bad frame length {len}")]
    BadLength { len: i64 },
    /// The sequence number, or the CRC32, does not match.
    #[error("bad frame: {0}")]
    Transport(String),
}

/// Splits a byte stream into `Full` frames and returns their payloads.
pub struct FrameReader {
    transport: Full,
    buffer: Vec<u8>,
    max_frame_len: usize,
}

impl FrameReader {
    /// A reader that rejects frames longer than `max_frame_len` bytes.
    pub fn new(max_frame_len: usize) -> Self {
        Self {
            transport: Full::new(),
            buffer: Vec::new(),
            max_frame_len,
        }
    }

    /// Appends bytes read from the socket.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete frame's payload, `None` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        let Some(head) = self.buffer.get(..4) else {
            return Ok(None);
        };
        let len = i32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let Ok(len_usize) = usize::try_from(len) else {
            return Err(FrameError::BadLength { len: len.into() });
        };
        if len_usize < MIN_FRAME_LEN || len_usize > self.max_frame_len || len_usize % 4 != 0 {
            return Err(FrameError::BadLength { len: len.into() });
        }
        if self.buffer.len() < len_usize {
            return Ok(None);
        }
        let unpacked = self
            .transport
            .unpack(&mut self.buffer[..len_usize])
            .map_err(|e| FrameError::Transport(e.to_string()))?;
        let payload = self.buffer[unpacked.data_range].to_vec();
        self.buffer.drain(..unpacked.next_offset);
        Ok(Some(payload))
    }
}

/// Frames outgoing payloads.
pub struct FrameWriter {
    transport: Full,
}

impl Default for FrameWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameWriter {
    /// A writer whose send counter starts at 0.
    pub fn new() -> Self {
        Self {
            transport: Full::new(),
        }
    }

    /// The frame carrying `payload` (whose length must be a multiple of 4).
    pub fn pack(&mut self, payload: &[u8]) -> Vec<u8> {
        let mut buffer = DequeBuffer::with_capacity(payload.len() + 4, 8);
        buffer.extend(payload.iter().copied());
        self.transport.pack(&mut buffer);
        let framed: &[u8] = buffer.as_ref();
        framed.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn frames_round_trip_with_increasing_seq() {
        let mut writer = FrameWriter::new();
        let mut reader = FrameReader::new(1 << 20);
        let a = writer.pack(&[1, 2, 3, 4]);
        let b = writer.pack(&[5, 6, 7, 8, 9, 10, 11, 12]);
        assert_eq!(a[4..8], 0i32.to_le_bytes());
        assert_eq!(b[4..8], 1i32.to_le_bytes());
        // Deliver them split at an awkward place.
        let all = [a, b].concat();
        reader.feed(&all[..7]);
        assert_eq!(reader.next_frame(), Ok(None));
        reader.feed(&all[7..]);
        assert_eq!(reader.next_frame(), Ok(Some(vec![1, 2, 3, 4])));
        assert_eq!(
            reader.next_frame(),
            Ok(Some(vec![5, 6, 7, 8, 9, 10, 11, 12]))
        );
        assert_eq!(reader.next_frame(), Ok(None));
    }

    #[test]
    fn oversized_and_negative_lengths_are_rejected_before_buffering() {
        let mut reader = FrameReader::new(1024);
        reader.feed(&(1_i32 << 30).to_le_bytes());
        assert!(matches!(
            reader.next_frame(),
            Err(FrameError::BadLength { .. })
        ));
        let mut reader = FrameReader::new(1024);
        reader.feed(&(-404_i32).to_le_bytes());
        assert!(matches!(
            reader.next_frame(),
            Err(FrameError::BadLength { len: -404 })
        ));
    }

    #[test]
    fn corrupted_crc_is_rejected() {
        let mut frame = FrameWriter::new().pack(&[1, 2, 3, 4]);
        let last = frame.len() - 1;
        frame[last] ^= 0xff;
        let mut reader = FrameReader::new(1024);
        reader.feed(&frame);
        assert!(matches!(reader.next_frame(), Err(FrameError::Transport(_))));
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic_the_frame_reader(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..8)) {
            let mut reader = FrameReader::new(4096);
            for chunk in chunks {
                reader.feed(&chunk);
                while let Ok(Some(_)) = reader.next_frame() {}
            }
        }

        #[test]
        fn any_aligned_payload_round_trips(words in prop::collection::vec(any::<u32>(), 0..256)) {
            let payload: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            let frame = FrameWriter::new().pack(&payload);
            let mut reader = FrameReader::new(1 << 20);
            reader.feed(&frame);
            prop_assert_eq!(reader.next_frame(), Ok(Some(payload)));
        }
    }
}

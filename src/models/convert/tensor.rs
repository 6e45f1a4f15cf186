//! Tensors as they lie in a source checkpoint, read one at a time and turned into the bytes a
//! ggml file stores: f16 passes through bit for bit, everything else goes through f32.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;

use half::{bf16, f16};

use super::ConvertError;

/// How a source stores a tensor's elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    F16,
    BF16,
    I8,
    I16,
    I32,
}

impl DType {
    pub fn size(self) -> usize {
        match self {
            DType::I8 => 1,
            DType::F16 | DType::BF16 | DType::I16 => 2,
            DType::F32 | DType::I32 => 4,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::F16 => "float16",
            DType::BF16 => "bfloat16",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::I32 => "int32",
        }
    }
}

/// One tensor's data in a source file, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Index into the source's open files.
    pub file: usize,
    pub offset: u64,
    pub shape: Vec<usize>,
    pub dtype: DType,
}

impl Stored {
    pub fn elements(&self) -> usize {
        self.shape.iter().product()
    }

    /// Elements per row (everything after the first dimension); 1 for vectors and scalars.
    fn row_len(&self) -> usize {
        self.shape.iter().skip(1).product()
    }

    fn rows(&self) -> usize {
        self.shape.first().copied().unwrap_or(1)
    }
}

/// What one ggml tensor is made from: rows of a stored tensor (all of them, or a slice of a
/// fused projection), dequantized with its scale when the source is quantized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub stored: Stored,
    /// Quantized sources: `value / scale`, one scale per row or one for the whole tensor.
    pub scale: Option<Stored>,
    pub rows: Range<usize>,
}

impl Part {
    pub fn whole(stored: Stored, scale: Option<Stored>) -> Self {
        let rows = 0..stored.rows();
        Self {
            stored,
            scale,
            rows,
        }
    }

    /// Rows `rows` of a fused tensor (e.g. the key part of q|k|v).
    pub fn rows(stored: Stored, scale: Option<Stored>, rows: Range<usize>) -> Self {
        Self {
            stored,
            scale,
            rows,
        }
    }

    /// The shape this part has, with dimensions of 1 dropped so that `(n,)` matches `(n, 1)`.
    pub fn squeezed_shape(&self) -> Vec<usize> {
        let mut shape = self.stored.shape.clone();
        if let Some(first) = shape.first_mut() {
            *first = self.rows.len();
        }
        shape.retain(|&d| d != 1);
        shape
    }
}

/// The element type a ggml tensor is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutType {
    F32,
    F16,
}

/// Reads parts from the source's files.
pub struct TensorReader {
    files: Vec<File>,
}

impl TensorReader {
    pub fn new(files: Vec<File>) -> Self {
        Self { files }
    }

    fn raw(&mut self, stored: &Stored, elements: Range<usize>) -> Result<Vec<u8>, ConvertError> {
        let size = stored.dtype.size();
        let start = stored.offset + (elements.start * size) as u64;
        let mut buf = vec![0u8; elements.len() * size];
        let file = self.files.get_mut(stored.file).ok_or_else(|| {
            ConvertError::Invalid("a tensor names a file that is not open".into())
        })?;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut buf).map_err(|error| {
            if error.kind() == std::io::ErrorKind::UnexpectedEof {
                ConvertError::Invalid("a tensor's data runs past the end of its file".into())
            } else {
                ConvertError::Io(error)
            }
        })?;
        Ok(buf)
    }

    /// The value of an integer scalar (a model's head count, say).
    pub fn integer(&mut self, stored: &Stored) -> Result<i64, ConvertError> {
        if stored.elements() != 1 || !matches!(stored.dtype, DType::I8 | DType::I16 | DType::I32) {
            return Err(ConvertError::Invalid(format!(
                "expected an integer scalar, found {} of shape {:?}",
                stored.dtype.name(),
                stored.shape
            )));
        }
        let raw = self.raw(stored, 0..1)?;
        Ok(decode(&raw, stored.dtype)[0] as i64)
    }

    /// The part's elements as `out` little-endian bytes.
    pub fn read(&mut self, part: &Part, out: OutType) -> Result<Vec<u8>, ConvertError> {
        let row_len = part.stored.row_len();
        let elements = part.rows.start * row_len..part.rows.end * row_len;
        let raw = self.raw(&part.stored, elements)?;
        if part.scale.is_none() && part.stored.dtype == DType::F16 && out == OutType::F16 {
            return Ok(raw);
        }
        let mut values = decode(&raw, part.stored.dtype);
        if let Some(scale) = &part.scale {
            self.dequantize(&mut values, scale, part, row_len)?;
        } else if matches!(part.stored.dtype, DType::I8 | DType::I16 | DType::I32) {
            return Err(ConvertError::Unsupported(format!(
                "{} weights without a scale",
                part.stored.dtype.name()
            )));
        }
        Ok(match out {
            OutType::F32 => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            OutType::F16 => values
                .iter()
                .flat_map(|v| f16::from_f32(*v).to_le_bytes())
                .collect(),
        })
    }

    fn dequantize(
        &mut self,
        values: &mut [f32],
        scale: &Stored,
        part: &Part,
        row_len: usize,
    ) -> Result<(), ConvertError> {
        let scales = match scale.elements() {
            1 => decode(&self.raw(scale, 0..1)?, scale.dtype),
            n if n == part.stored.rows() => {
                decode(&self.raw(scale, part.rows.clone())?, scale.dtype)
            }
            n => {
                return Err(ConvertError::Invalid(format!(
                    "a quantization scale has {n} values for a tensor of {} rows",
                    part.stored.rows()
                )));
            }
        };
        for (index, value) in values.iter_mut().enumerate() {
            let factor = if scales.len() == 1 {
                scales[0]
            } else {
                scales[index / row_len.max(1)]
            };
            *value = if factor == 0.0 { 0.0 } else { *value / factor };
        }
        Ok(())
    }
}

/// Little-endian elements of `dtype` as f32.
fn decode(raw: &[u8], dtype: DType) -> Vec<f32> {
    match dtype {
        DType::F32 => raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        DType::F16 => raw
            .chunks_exact(2)
            .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        DType::BF16 => raw
            .chunks_exact(2)
            .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        DType::I8 => raw.iter().map(|&b| f32::from(b as i8)).collect(),
        DType::I16 => raw
            .chunks_exact(2)
            .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])))
            .collect(),
        DType::I32 => raw
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> File {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        file
    }

    fn stored(offset: u64, shape: &[usize], dtype: DType) -> Stored {
        Stored {
            file: 0,
            offset,
            shape: shape.to_vec(),
            dtype,
        }
    }

    #[test]
    fn f16_rows_pass_through_bit_for_bit() {
        let values: Vec<u8> = (0u16..12)
            .flat_map(|v| (v * 1000 + 7).to_le_bytes())
            .collect();
        let mut reader = TensorReader::new(vec![file_with(&values)]);
        let part = Part::rows(stored(0, &[6, 2], DType::F16), None, 2..4);
        assert_eq!(reader.read(&part, OutType::F16).unwrap(), values[8..16]);
    }

    #[test]
    fn int8_rows_are_dequantized_with_their_own_scales() {
        // Two rows of int8, scales 2 and 4 (CTranslate2 stores value * scale).
        let mut bytes = vec![2u8, 254, 4, 8];
        bytes.extend(2.0f32.to_le_bytes());
        bytes.extend(4.0f32.to_le_bytes());
        let mut reader = TensorReader::new(vec![file_with(&bytes)]);
        let part = Part::whole(
            stored(0, &[2, 2], DType::I8),
            Some(stored(4, &[2], DType::F32)),
        );
        let out = reader.read(&part, OutType::F32).unwrap();
        let floats: Vec<f32> = out
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(floats, [1.0, -1.0, 1.0, 2.0]);
        // The second row alone keeps its own scale.
        let part = Part::rows(
            stored(0, &[2, 2], DType::I8),
            Some(stored(4, &[2], DType::F32)),
            1..2,
        );
        let out = reader.read(&part, OutType::F16).unwrap();
        assert_eq!(
            out,
            [
                f16::from_f32(1.0).to_le_bytes(),
                f16::from_f32(2.0).to_le_bytes()
            ]
            .concat()
        );
    }

    #[test]
    fn bf16_and_f32_become_f16_rounded_to_nearest() {
        let bytes: Vec<u8> = [1.5f32, 0.1, -3.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let mut reader = TensorReader::new(vec![file_with(&bytes)]);
        let out = reader
            .read(
                &Part::whole(stored(0, &[3], DType::F32), None),
                OutType::F16,
            )
            .unwrap();
        let expected: Vec<u8> = [1.5f32, 0.1, -3.0]
            .iter()
            .flat_map(|v| f16::from_f32(*v).to_le_bytes())
            .collect();
        assert_eq!(out, expected);
        let bf: Vec<u8> = [bf16::from_f32(2.5), bf16::from_f32(-0.75)]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let mut reader = TensorReader::new(vec![file_with(&bf)]);
        let out = reader
            .read(
                &Part::whole(stored(0, &[2], DType::BF16), None),
                OutType::F32,
            )
            .unwrap();
        assert_eq!(
            out,
            [2.5f32.to_le_bytes(), (-0.75f32).to_le_bytes()].concat()
        );
    }

    #[test]
    fn data_past_the_end_is_an_error_not_a_panic() {
        let mut reader = TensorReader::new(vec![file_with(&[0; 6])]);
        let part = Part::whole(stored(2, &[4], DType::F16), None);
        assert!(matches!(
            reader.read(&part, OutType::F16),
            Err(ConvertError::Invalid(_))
        ));
        let unscaled = Part::whole(stored(0, &[2], DType::I8), None);
        assert!(matches!(
            reader.read(&unscaled, OutType::F16),
            Err(ConvertError::Unsupported(_))
        ));
    }

    #[test]
    fn squeezed_shapes_ignore_ones() {
        let part = Part::whole(stored(0, &[384, 1], DType::F32), None);
        assert_eq!(part.squeezed_shape(), [384]);
        let part = Part::rows(stored(0, &[1152, 384], DType::F16), None, 384..768);
        assert_eq!(part.squeezed_shape(), [384, 384]);
    }
}

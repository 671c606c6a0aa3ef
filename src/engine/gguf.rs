//! A bounds-checked GGUF reader over a memory map.
//!
//! We parse GGUF ourselves instead of using candle's reader because candle trusts every length in the
//! file: a corrupt string or array length makes it allocate petabytes and abort. Here every length is
//! checked against the bytes that remain, so a truncated or corrupt file is an error that says what
//! is wrong, never a crash. Tensor data is not copied: weights are views into the map (like llama.cpp),
//! so loading is fast and resident memory only holds the pages the forward pass touches.
use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use memmap2::Mmap;

use super::error::EngineError;

const GGUF_MAGIC: &[u8; 4] = b"GGUF";
const DEFAULT_ALIGNMENT: u64 = 32;

/// A metadata value. Arrays keep their element values; the tokenizer reads the big ones.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    Array(Vec<MetaValue>),
}

impl MetaValue {
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            MetaValue::U8(v) => Some(v as u64),
            MetaValue::U16(v) => Some(v as u64),
            MetaValue::U32(v) => Some(v as u64),
            MetaValue::U64(v) => Some(v),
            MetaValue::I8(v) if v >= 0 => Some(v as u64),
            MetaValue::I16(v) if v >= 0 => Some(v as u64),
            MetaValue::I32(v) if v >= 0 => Some(v as u64),
            MetaValue::I64(v) if v >= 0 => Some(v as u64),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            MetaValue::F32(v) => Some(v as f64),
            MetaValue::F64(v) => Some(v),
            _ => self.as_u64().map(|v| v as f64),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            MetaValue::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            MetaValue::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[MetaValue]> {
        match self {
            MetaValue::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// Where one tensor lives in the file.
#[derive(Debug, Clone)]
pub struct TensorInfo {
    /// ggml's dimension order: `dims[0]` is the row length (the contiguous one).
    pub dims: Vec<u64>,
    pub ggml_type: u32,
    /// Absolute byte offset in the file.
    pub offset: u64,
}

/// An opened GGUF file: metadata, tensor directory and the mapped bytes.
pub struct GgufFile {
    pub version: u32,
    pub metadata: BTreeMap<String, MetaValue>,
    pub tensors: BTreeMap<String, TensorInfo>,
    pub map: Arc<Mmap>,
}

impl GgufFile {
    pub fn open(path: &Path) -> Result<Self, EngineError> {
        let file = File::open(path).map_err(|e| EngineError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        // SAFETY: the map is read-only; a file truncated while mapped would fault, which is the same
        // contract llama.cpp and every mmap-based loader accept.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| EngineError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        Self::parse(Arc::new(map))
    }

    fn parse(map: Arc<Mmap>) -> Result<Self, EngineError> {
        let mut r = Reader {
            buf: &map[..],
            pos: 0,
        };
        let magic = r.take(4, "magic")?;
        if magic != GGUF_MAGIC {
            return Err(EngineError::BadGguf(
                "not a GGUF file (the first four bytes are not \"GGUF\")".into(),
            ));
        }
        let version = r.u32("version")?;
        if !(2..=3).contains(&version) {
            return Err(EngineError::BadGguf(format!(
                "unsupported GGUF version {version} (2 and 3 are supported)"
            )));
        }
        let n_tensors = r.u64("tensor count")?;
        let n_kv = r.u64("metadata count")?;
        let mut metadata = BTreeMap::new();
        for i in 0..n_kv {
            let key = r.string(&format!("metadata key #{i}"))?;
            let ty = r.u32(&key)?;
            let value = r.value(ty, &key, 0)?;
            metadata.insert(key, value);
        }
        let mut tensors = BTreeMap::new();
        let mut raw = Vec::new();
        for i in 0..n_tensors {
            let name = r.string(&format!("tensor name #{i}"))?;
            let n_dims = r.u32(&name)?;
            if n_dims == 0 || n_dims > 4 {
                return Err(EngineError::BadGguf(format!(
                    "tensor {name} has {n_dims} dimensions"
                )));
            }
            let mut dims = Vec::with_capacity(n_dims as usize);
            for _ in 0..n_dims {
                dims.push(r.u64(&name)?);
            }
            let ggml_type = r.u32(&name)?;
            let offset = r.u64(&name)?;
            raw.push((name, dims, ggml_type, offset));
        }
        let alignment = metadata
            .get("general.alignment")
            .and_then(MetaValue::as_u64)
            .filter(|a| *a > 0)
            .unwrap_or(DEFAULT_ALIGNMENT);
        let data_start = (r.pos as u64).div_ceil(alignment) * alignment;
        for (name, dims, ggml_type, offset) in raw {
            let offset = data_start.checked_add(offset).ok_or_else(|| {
                EngineError::BadGguf(format!("tensor {name} has an impossible offset"))
            })?;
            tensors.insert(
                name,
                TensorInfo {
                    dims,
                    ggml_type,
                    offset,
                },
            );
        }
        Ok(Self {
            version,
            metadata,
            tensors,
            map,
        })
    }

    pub fn get(&self, key: &str) -> Option<&MetaValue> {
        self.metadata.get(key)
    }

    pub fn require(&self, key: &str) -> Result<&MetaValue, EngineError> {
        self.get(key)
            .ok_or_else(|| EngineError::MissingKey(key.to_string()))
    }

    pub fn require_u64(&self, key: &str) -> Result<u64, EngineError> {
        self.require(key)?
            .as_u64()
            .ok_or_else(|| EngineError::BadGguf(format!("metadata {key} is not an integer")))
    }

    pub fn require_f64(&self, key: &str) -> Result<f64, EngineError> {
        self.require(key)?
            .as_f64()
            .ok_or_else(|| EngineError::BadGguf(format!("metadata {key} is not a number")))
    }

    /// The bytes of a tensor, checked to lie inside the file.
    pub fn tensor_bytes(&self, name: &str, byte_len: u64) -> Result<&[u8], EngineError> {
        let info = self
            .tensors
            .get(name)
            .ok_or_else(|| EngineError::MissingTensor(name.to_string()))?;
        let end = info.offset.checked_add(byte_len);
        match end {
            Some(end) if end <= self.map.len() as u64 => {
                Ok(&self.map[info.offset as usize..end as usize])
            }
            _ => Err(EngineError::BadGguf(format!(
                "tensor {name} runs past the end of the file ({} bytes at offset {}, file is {} bytes): is the file truncated?",
                byte_len,
                info.offset,
                self.map.len()
            ))),
        }
    }
}

/// A cursor over the mapped bytes where every read checks the remaining length.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], EngineError> {
        if self.buf.len() - self.pos < n {
            return Err(EngineError::BadGguf(format!(
                "the file ends inside the header while reading {what} (at byte {}): truncated or corrupt",
                self.pos
            )));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], EngineError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn u32(&mut self, what: &str) -> Result<u32, EngineError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64, EngineError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn string(&mut self, what: &str) -> Result<String, EngineError> {
        let len = self.u64(what)?;
        let len = usize::try_from(len)
            .ok()
            .filter(|l| *l <= self.buf.len() - self.pos)
            .ok_or_else(|| {
                EngineError::BadGguf(format!(
                    "{what}: a string of {len} bytes does not fit in the file (corrupt header)"
                ))
            })?;
        let bytes = self.take(len, what)?;
        // GGUF strings are UTF-8; tolerate a bad byte rather than rejecting the model.
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }

    fn value(&mut self, ty: u32, key: &str, depth: u32) -> Result<MetaValue, EngineError> {
        Ok(match ty {
            0 => MetaValue::U8(self.array::<1>(key)?[0]),
            1 => MetaValue::I8(self.array::<1>(key)?[0] as i8),
            2 => MetaValue::U16(u16::from_le_bytes(self.array(key)?)),
            3 => MetaValue::I16(i16::from_le_bytes(self.array(key)?)),
            4 => MetaValue::U32(self.u32(key)?),
            5 => MetaValue::I32(i32::from_le_bytes(self.array(key)?)),
            6 => MetaValue::F32(f32::from_le_bytes(self.array(key)?)),
            7 => MetaValue::Bool(self.array::<1>(key)?[0] != 0),
            8 => MetaValue::String(self.string(key)?),
            9 => {
                if depth > 2 {
                    return Err(EngineError::BadGguf(format!(
                        "metadata {key}: arrays nested too deep"
                    )));
                }
                let elem_ty = self.u32(key)?;
                let len = self.u64(key)?;
                // Every element takes at least one byte: a longer array cannot be real.
                if len > (self.buf.len() - self.pos) as u64 {
                    return Err(EngineError::BadGguf(format!(
                        "metadata {key}: an array of {len} elements does not fit in the file"
                    )));
                }
                let mut items = Vec::with_capacity(len as usize);
                for _ in 0..len {
                    items.push(self.value(elem_ty, key, depth + 1)?);
                }
                MetaValue::Array(items)
            }
            10 => MetaValue::U64(self.u64(key)?),
            11 => MetaValue::I64(i64::from_le_bytes(self.array(key)?)),
            12 => MetaValue::F64(f64::from_le_bytes(self.array(key)?)),
            other => {
                return Err(EngineError::BadGguf(format!(
                    "metadata {key} has unknown value type {other}"
                )))
            }
        })
    }
}

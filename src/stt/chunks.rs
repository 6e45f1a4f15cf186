//! Cutting an upload into chunks of at most 30 s, one whisper window each, and mapping the
//! times whisper reports inside a chunk back to the original audio.
//!
//! With voice activity detection, speech spans are padded, spans with tiny gaps between them
//! merged, and the spans packed into chunks (several spans per chunk, joined by 0.1 s of
//! silence as whisper.cpp does), so speech-free stretches are never decoded. Spans stay whole
//! unless cutting them to fill every chunk saves whisper windows. Without it the
//! whole upload is one span. A span longer than a chunk is cut at its quietest point shortly
//! before the 30 s mark.

use super::RawSegment;

/// Samples per second of whisper's input.
pub const SAMPLE_RATE: usize = 16_000;
/// Samples per centisecond, whisper's unit of time.
const PER_CS: usize = SAMPLE_RATE / 100;
/// The most audio one chunk holds: one whisper window.
pub const MAX_CHUNK: usize = 30 * SAMPLE_RATE;
/// How far before the 30 s mark a cut may move to find a quiet point.
const CUT_SEARCH: usize = 5 * SAMPLE_RATE;
/// Cuts are tried every 10 ms ...
const CUT_STEP: usize = PER_CS;
/// ... and judged by the energy of the 100 ms around them.
const ENERGY_WINDOW: usize = SAMPLE_RATE / 10;
/// Speech spans are widened by this much on each side.
pub const SPEECH_PAD: usize = SAMPLE_RATE / 10;
/// Spans closer than this are merged, the gap kept.
pub const MERGE_GAP: usize = SAMPLE_RATE / 2;
/// Silence put between spans packed into one chunk.
pub const PIECE_GAP: usize = SAMPLE_RATE / 10;
/// A chunk with less room than this left is not topped up with part of the next span.
const MIN_FILL: usize = SAMPLE_RATE;

/// A range of samples of the original audio, `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    fn len(self) -> usize {
        self.end.saturating_sub(self.start)
    }
}

/// One chunk: pieces of the original audio, played one after another with [`PIECE_GAP`] of
/// silence between them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chunk {
    pub pieces: Vec<Span>,
}

/// Which way a time that falls into the silence between two pieces is moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bias {
    /// To the start of the next piece (a segment or word starting there).
    Start,
    /// To the end of the previous piece (a segment or word ending there).
    End,
}

impl Chunk {
    /// Samples of the chunk's audio, gaps included.
    pub fn len(&self) -> usize {
        let content: usize = self.pieces.iter().map(|p| p.len()).sum();
        content + PIECE_GAP * self.pieces.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where the chunk begins on the original timeline, in centiseconds.
    pub fn start_cs(&self) -> i64 {
        self.pieces.first().map_or(0, |p| to_cs(p.start))
    }

    /// The audio whisper gets for this chunk.
    pub fn audio(&self, pcm: &[f32]) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.len());
        for (index, piece) in self.pieces.iter().enumerate() {
            if index > 0 {
                out.resize(out.len() + PIECE_GAP, 0.0);
            }
            let end = piece.end.min(pcm.len());
            out.extend_from_slice(&pcm[piece.start.min(end)..end]);
        }
        out
    }

    /// Maps a time inside the chunk (centiseconds from its start) to the original audio.
    /// Times before or after the chunk's audio are clamped to it.
    pub fn map_cs(&self, local: i64, bias: Bias) -> i64 {
        let Some(first) = self.pieces.first() else {
            return 0;
        };
        let position = usize::try_from(local.max(0)).unwrap_or(0) * PER_CS;
        let mut offset = 0;
        for (index, piece) in self.pieces.iter().enumerate() {
            let end = offset + piece.len();
            if position <= end {
                if position >= offset {
                    return to_cs(piece.start + (position - offset));
                }
                // In the silence before this piece.
                return match bias {
                    Bias::Start => to_cs(piece.start),
                    Bias::End => to_cs(self.pieces[index - 1].end),
                };
            }
            offset = end + PIECE_GAP;
        }
        let last = self.pieces.last().unwrap_or(first);
        to_cs(last.end)
    }

    /// Whisper's segments of this chunk, with every time (segment, token) on the original
    /// timeline and `seek` set to where the window that produced each one began.
    pub fn map_segments(&self, segments: Vec<RawSegment>) -> Vec<RawSegment> {
        let mut seek = 0;
        segments
            .into_iter()
            .map(|mut segment| {
                seek = super::transcript::window_start(&segment).unwrap_or(seek);
                segment.seek = Some(self.map_cs(seek, Bias::Start));
                segment.t0 = self.map_cs(segment.t0, Bias::Start);
                segment.t1 = self.map_cs(segment.t1, Bias::End).max(segment.t0);
                for token in &mut segment.tokens {
                    token.t0 = self.map_cs(token.t0, Bias::Start);
                    token.t1 = self.map_cs(token.t1, Bias::End).max(token.t0);
                }
                segment
            })
            .collect()
    }
}

fn to_cs(samples: usize) -> i64 {
    i64::try_from(samples / PER_CS).unwrap_or(i64::MAX)
}

/// Plans the chunks of `pcm`. `speech` is the voice activity detector's spans (in samples), or
/// `None` to decode everything; no speech at all means no chunks.
pub fn plan(pcm: &[f32], speech: Option<&[Span]>) -> Vec<Chunk> {
    let spans = match speech {
        None => vec![Span::new(0, pcm.len())],
        Some(spans) => pad_and_merge(spans, pcm.len()),
    };
    let mut pieces = Vec::new();
    for span in spans {
        split_long(pcm, span, &mut pieces);
    }
    if speech.is_none() {
        // Everything is one timeline: every piece is a chunk of its own.
        return pieces
            .into_iter()
            .map(|piece| Chunk {
                pieces: vec![piece],
            })
            .collect();
    }
    pack(pcm, pieces)
}

/// Widens each span by [`SPEECH_PAD`], keeps it inside the audio, and merges spans that
/// overlap or lie less than [`MERGE_GAP`] apart. Empty spans are dropped.
pub fn pad_and_merge(spans: &[Span], total: usize) -> Vec<Span> {
    let mut sorted: Vec<Span> = spans
        .iter()
        .filter(|s| s.end > s.start && s.start < total)
        .map(|s| {
            Span::new(
                s.start.saturating_sub(SPEECH_PAD),
                (s.end + SPEECH_PAD).min(total),
            )
        })
        .collect();
    sorted.sort_by_key(|s| s.start);
    let mut merged: Vec<Span> = Vec::with_capacity(sorted.len());
    for span in sorted {
        match merged.last_mut() {
            Some(last) if span.start <= last.end + MERGE_GAP => last.end = last.end.max(span.end),
            _ => merged.push(span),
        }
    }
    merged
}

/// Cuts `span` into pieces of at most [`MAX_CHUNK`] samples at quiet points.
fn split_long(pcm: &[f32], span: Span, out: &mut Vec<Span>) {
    let mut start = span.start;
    while span.end - start > MAX_CHUNK {
        let cut = quiet_cut(pcm, start + MAX_CHUNK - CUT_SEARCH, start + MAX_CHUNK);
        out.push(Span::new(start, cut));
        start = cut;
    }
    out.push(Span::new(start, span.end));
}

/// The quietest 10 ms step in `from..=to` by the energy of the 100 ms around it; among
/// (nearly) equally quiet ones the latest, so that steady audio is cut at the 30 s mark.
fn quiet_cut(pcm: &[f32], from: usize, to: usize) -> usize {
    let half = ENERGY_WINDOW / 2;
    let lo = from.saturating_sub(half);
    let hi = (to + half).min(pcm.len());
    // Prefix sums of squares over the region searched.
    let mut prefix = Vec::with_capacity(hi.saturating_sub(lo) + 1);
    prefix.push(0.0f64);
    let mut sum = 0.0f64;
    for &sample in &pcm[lo.min(hi)..hi] {
        sum += f64::from(sample) * f64::from(sample);
        prefix.push(sum);
    }
    let energy = |at: usize| {
        let a = at.saturating_sub(half).max(lo) - lo;
        let b = (at + half).min(hi) - lo;
        if b > a {
            (prefix[b] - prefix[a]) / (b - a) as f64
        } else {
            0.0
        }
    };
    let candidates: Vec<(usize, f64)> = (from..=to)
        .step_by(CUT_STEP)
        .map(|at| (at, energy(at)))
        .collect();
    let quietest = candidates
        .iter()
        .map(|(_, e)| *e)
        .fold(f64::INFINITY, f64::min);
    candidates
        .iter()
        .rev()
        .find(|(_, e)| *e <= quietest * 1.05 + 1e-12)
        .map_or(to, |(at, _)| *at)
}

/// Packs pieces into as few chunks as possible: whole, when that costs no more chunks than
/// filling every chunk to 30 s; otherwise filled, cutting a piece at a quiet point where a
/// chunk is full. Every chunk costs a whole whisper window however short it is, so with many
/// short pauses between long stretches of speech filling is what makes VAD pay.
fn pack(pcm: &[f32], pieces: Vec<Span>) -> Vec<Chunk> {
    let whole = pack_whole(pieces.clone());
    let filled = pack_filled(pcm, pieces);
    if filled.len() < whole.len() {
        filled
    } else {
        whole
    }
}

/// Packs pieces, in order, into chunks of at most [`MAX_CHUNK`] samples, gaps included.
fn pack_whole(pieces: Vec<Span>) -> Vec<Chunk> {
    let mut chunks: Vec<Chunk> = Vec::new();
    for piece in pieces {
        match chunks.last_mut() {
            Some(chunk) if chunk.len() + PIECE_GAP + piece.len() <= MAX_CHUNK => {
                chunk.pieces.push(piece);
            }
            _ => chunks.push(Chunk {
                pieces: vec![piece],
            }),
        }
    }
    chunks
}

/// Packs pieces, in order, into chunks filled up to [`MAX_CHUNK`]: a piece that does not fit
/// is cut at its quietest point before the chunk is full, the rest starting the next chunk.
fn pack_filled(pcm: &[f32], pieces: Vec<Span>) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut current = Chunk::default();
    for mut piece in pieces {
        loop {
            let used = if current.pieces.is_empty() {
                0
            } else {
                current.len() + PIECE_GAP
            };
            let room = MAX_CHUNK.saturating_sub(used);
            if piece.len() <= room {
                current.pieces.push(piece);
                break;
            }
            if room >= MIN_FILL {
                let to = piece.start + room;
                let mut cut = quiet_cut(pcm, to - room.min(CUT_SEARCH), to);
                if cut <= piece.start || cut > to {
                    cut = to;
                }
                current.pieces.push(Span::new(piece.start, cut));
                piece = Span::new(cut, piece.end);
            }
            chunks.push(std::mem::take(&mut current));
        }
    }
    if !current.pieces.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// The text of a chunk's segments, as the next chunk's prompt.
pub fn text_of(segments: &[RawSegment]) -> String {
    segments.iter().map(|s| s.text.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stt::RawToken;

    const S: usize = SAMPLE_RATE;

    fn tone(seconds: f64) -> Vec<f32> {
        let n = (seconds * S as f64) as usize;
        (0..n)
            .map(|i| (i as f32 / S as f32 * 440.0 * std::f32::consts::TAU).sin() * 0.5)
            .collect()
    }

    fn spans_of(chunks: &[Chunk]) -> Vec<Vec<(f64, f64)>> {
        chunks
            .iter()
            .map(|c| {
                c.pieces
                    .iter()
                    .map(|p| (p.start as f64 / S as f64, p.end as f64 / S as f64))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn steady_audio_is_cut_at_every_30_s_mark() {
        let pcm = tone(65.0);
        let chunks = plan(&pcm, None);
        assert_eq!(
            spans_of(&chunks),
            vec![vec![(0.0, 30.0)], vec![(30.0, 60.0)], vec![(60.0, 65.0)]]
        );
        assert!(chunks.iter().all(|c| c.len() <= MAX_CHUNK));
        assert_eq!(chunks[1].start_cs(), 3000);
        // Short audio is one chunk, even when shorter than a whisper frame.
        assert_eq!(plan(&tone(0.05), None).len(), 1);
    }

    #[test]
    fn long_audio_is_cut_at_the_quietest_point_before_the_mark() {
        let mut pcm = tone(70.0);
        // A quiet half second at 27.0 s..27.5 s: the cut lands inside it.
        for sample in &mut pcm[27 * S..27 * S + S / 2] {
            *sample *= 0.01;
        }
        let chunks = plan(&pcm, None);
        let first = chunks[0].pieces[0];
        assert!(
            (27 * S + S / 20..=27 * S + S / 2 - S / 20).contains(&first.end),
            "cut at {}",
            first.end as f64 / S as f64
        );
        assert_eq!(chunks[1].pieces[0].start, first.end);
        assert!(chunks.iter().all(|c| c.len() <= MAX_CHUNK));
        let covered: usize = chunks.iter().map(Chunk::len).sum();
        assert_eq!(covered, pcm.len());
    }

    #[test]
    fn speech_spans_are_padded_merged_and_packed() {
        let pcm = vec![0.0; 100 * S];
        let speech = [
            Span::new(S, 3 * S),
            // 0.3 s after the first one (less than MERGE_GAP with padding): merged.
            Span::new(3 * S + 3 * S / 10, 4 * S),
            Span::new(10 * S, 12 * S),
            // Empty and out-of-range spans are ignored.
            Span::new(20 * S, 20 * S),
            Span::new(200 * S, 201 * S),
            // 25 s of speech does not fit after the others: a chunk of its own.
            Span::new(50 * S, 75 * S),
        ];
        let chunks = plan(&pcm, Some(&speech));
        assert_eq!(
            spans_of(&chunks),
            vec![vec![(0.9, 4.1), (9.9, 12.1)], vec![(49.9, 75.1)],]
        );
        assert_eq!(chunks[0].len(), (32 * S / 10) + PIECE_GAP + (22 * S / 10));
        // No speech: nothing to decode.
        assert!(plan(&pcm, Some(&[])).is_empty());
    }

    #[test]
    fn chunks_are_filled_when_that_saves_windows() {
        // 10 s of speech, 10 s of silence, for 600 s: whole spans (10.2 s padded) fit two to a
        // chunk, 15 chunks; filled chunks carry the same speech in 11.
        let pcm = tone(600.0);
        let speech: Vec<Span> = (0..30)
            .map(|i| Span::new(i * 20 * S, (i * 20 + 10) * S))
            .collect();
        let padded = pad_and_merge(&speech, pcm.len());
        let chunks = plan(&pcm, Some(&speech));
        assert_eq!(chunks.len(), 11);
        assert!(chunks.iter().all(|c| c.len() <= MAX_CHUNK));
        // Every padded span is covered exactly once, in order, by consecutive pieces.
        let pieces: Vec<Span> = chunks.iter().flat_map(|c| c.pieces.clone()).collect();
        let mut rejoined: Vec<Span> = Vec::new();
        for piece in pieces {
            match rejoined.last_mut() {
                Some(last) if last.end == piece.start => last.end = piece.end,
                _ => rejoined.push(piece),
            }
        }
        assert_eq!(rejoined, padded);

        // Two 20 s utterances need two windows either way: they stay whole.
        let pcm = tone(80.0);
        let chunks = plan(
            &pcm,
            Some(&[Span::new(S, 21 * S), Span::new(50 * S, 70 * S)]),
        );
        assert_eq!(
            spans_of(&chunks),
            vec![vec![(0.9, 21.1)], vec![(49.9, 70.1)]]
        );
    }

    #[test]
    fn long_speech_is_split_into_30_s_chunks() {
        let pcm = tone(80.0);
        let chunks = plan(&pcm, Some(&[Span::new(5 * S, 75 * S)]));
        assert!(chunks.iter().all(|c| c.len() <= MAX_CHUNK));
        assert_eq!(chunks.len(), 3);
        assert_eq!(
            chunks[0].pieces,
            vec![Span::new(5 * S - SPEECH_PAD, 35 * S - SPEECH_PAD)]
        );
        assert_eq!(chunks[2].pieces[0].end, 75 * S + SPEECH_PAD);
    }

    #[test]
    fn pad_stays_inside_the_audio() {
        let merged = pad_and_merge(&[Span::new(0, S), Span::new(9 * S, 10 * S)], 10 * S);
        assert_eq!(
            merged,
            vec![
                Span::new(0, S + SPEECH_PAD),
                Span::new(9 * S - SPEECH_PAD, 10 * S)
            ]
        );
    }

    #[test]
    fn audio_joins_pieces_with_silence() {
        let pcm: Vec<f32> = (0..10 * S).map(|i| i as f32).collect();
        let chunk = Chunk {
            pieces: vec![Span::new(S, 2 * S), Span::new(5 * S, 6 * S)],
        };
        let audio = chunk.audio(&pcm);
        assert_eq!(audio.len(), 2 * S + PIECE_GAP);
        assert_eq!(audio[0], S as f32);
        assert_eq!(audio[S], 0.0);
        assert_eq!(audio[S + PIECE_GAP], (5 * S) as f32);
    }

    #[test]
    fn times_map_back_to_the_original_timeline() {
        // Pieces 1.0–2.0 s and 5.0–6.0 s: chunk time 0–1 s is 1–2 s, 1.0–1.1 s is the gap,
        // 1.1–2.1 s is 5–6 s.
        let chunk = Chunk {
            pieces: vec![Span::new(S, 2 * S), Span::new(5 * S, 6 * S)],
        };
        assert_eq!(chunk.map_cs(0, Bias::Start), 100);
        assert_eq!(chunk.map_cs(50, Bias::Start), 150);
        assert_eq!(chunk.map_cs(100, Bias::End), 200);
        assert_eq!(chunk.map_cs(105, Bias::End), 200);
        assert_eq!(chunk.map_cs(105, Bias::Start), 500);
        assert_eq!(chunk.map_cs(110, Bias::Start), 500);
        assert_eq!(chunk.map_cs(160, Bias::Start), 550);
        // Past the end (whisper's segment ends can overshoot) and before the start.
        assert_eq!(chunk.map_cs(3000, Bias::End), 600);
        assert_eq!(chunk.map_cs(-100_728, Bias::Start), 100);
    }

    fn token(id: i32, t0: i64, t1: i64, timestamp: Option<i64>) -> RawToken {
        RawToken {
            id,
            bytes: b" hallo".to_vec(),
            logprob: 0.0,
            t0,
            t1,
            is_control: false,
            timestamp,
        }
    }

    #[test]
    fn segments_and_words_map_back_with_their_seek() {
        let chunk = Chunk {
            pieces: vec![Span::new(30 * S, 31 * S), Span::new(40 * S, 45 * S)],
        };
        let segment = RawSegment {
            t0: 0,
            t1: 400,
            seek: None,
            text: " hallo welt".into(),
            no_speech_prob: 0.0,
            tokens: vec![
                token(50364, 0, 0, Some(0)),
                token(256, 0, 55, None),
                token(257, 120, 160, None),
                token(50564, 400, 400, Some(400)),
            ],
        };
        let mapped = chunk.map_segments(vec![segment]);
        let segment = &mapped[0];
        assert_eq!(segment.seek, Some(3000));
        assert_eq!((segment.t0, segment.t1), (3000, 4290));
        let times: Vec<_> = segment.tokens.iter().map(|t| (t.t0, t.t1)).collect();
        assert_eq!(
            times,
            vec![(3000, 3000), (3000, 3055), (4010, 4050), (4290, 4290)]
        );
    }
}

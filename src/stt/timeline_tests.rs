use super::*;
use crate::stt::RawToken;

const S: usize = SAMPLE_RATE;

fn ramp(seconds: usize) -> Vec<f32> {
    (0..seconds * S).map(|i| i as f32).collect()
}

fn token(id: i32, t0: i64, t1: i64, timestamp: Option<i64>) -> RawToken {
    RawToken {
        id,
        bytes: Vec::new(),
        logprob: -0.1,
        t0,
        t1,
        is_control: false,
        timestamp,
        aligned_at: Some(t0),
    }
}

fn segment(t0: i64, t1: i64) -> RawSegment {
    RawSegment {
        t0,
        t1,
        seek: None,
        text: " words".into(),
        no_speech_prob: 0.0,
        tokens: vec![
            token(50364, t0, t0, Some(t0)),
            token(256, t0, t1, None),
            token(50365, t1, t1, Some(t1)),
        ],
    }
}

fn raw(segments: Vec<RawSegment>, unfinished: bool) -> RawTranscript {
    RawTranscript {
        language: "en",
        segments,
        unfinished,
    }
}

#[test]
fn without_speech_spans_the_timeline_is_the_whole_upload() {
    let timeline = plan(75 * S, None);
    assert_eq!(timeline.len(), 75 * S);
    assert_eq!(timeline.pieces(), [Span::new(0, 75 * S)]);
    assert_eq!(
        timeline.window_at(0),
        Some(Window {
            start: 0,
            end: 30 * S
        })
    );
    assert_eq!(
        timeline.window_at(60 * S),
        Some(Window {
            start: 60 * S,
            end: 75 * S
        })
    );
    // Less than 0.1 s left is not decoded.
    assert_eq!(timeline.window_at(75 * S - S / 20), None);
    assert!(plan(0, None).window_at(0).is_none());
}

#[test]
fn speech_spans_are_padded_merged_and_joined() {
    let speech = [
        Span::new(10 * S, 12 * S),
        // 1.5 s after the first one ends: merged, the pause kept.
        Span::new(12 * S + 3 * S / 2, 14 * S),
        // Far away: a piece of its own.
        Span::new(40 * S, 41 * S),
    ];
    let timeline = plan(60 * S, Some(&speech));
    let pad = SPEECH_PAD;
    assert_eq!(
        timeline.pieces(),
        [
            Span::new(10 * S - pad, 14 * S + pad),
            Span::new(40 * S - pad, 41 * S + pad)
        ]
    );
    assert_eq!(
        timeline.len(),
        (4 * S + 2 * pad) + PIECE_GAP + (S + 2 * pad)
    );
    assert!(plan(60 * S, Some(&[])).window_at(0).is_none());
}

#[test]
fn pad_stays_inside_the_audio() {
    let merged = pad_and_merge(&[Span::new(0, S), Span::new(9 * S, 10 * S)], 10 * S);
    assert_eq!(
        merged,
        [
            Span::new(0, S + SPEECH_PAD),
            Span::new(9 * S - SPEECH_PAD, 10 * S)
        ]
    );
    // Spans past the end or empty are dropped.
    assert_eq!(
        pad_and_merge(&[Span::new(20 * S, 21 * S), Span::new(5, 5)], 10 * S),
        []
    );
}

#[test]
fn window_audio_joins_pieces_with_silence() {
    let pcm = ramp(60);
    let timeline = plan(
        pcm.len(),
        Some(&[Span::new(10 * S, 11 * S), Span::new(40 * S, 41 * S)]),
    );
    let [first, second] = timeline.pieces() else {
        panic!("two pieces expected");
    };
    let window = timeline.window_at(0).unwrap();
    let audio = timeline.audio(&pcm, window);
    assert_eq!(audio.len(), timeline.len());
    assert_eq!(audio[0], first.start as f32);
    let gap_at = first.end - first.start;
    assert!(audio[gap_at..gap_at + PIECE_GAP].iter().all(|&x| x == 0.0));
    assert_eq!(audio[gap_at + PIECE_GAP], second.start as f32);
    // A window starting inside the first piece starts at the matching sample.
    let later = Window {
        start: S / 2,
        end: window.end,
    };
    assert_eq!(timeline.audio(&pcm, later)[0], (first.start + S / 2) as f32);
}

#[test]
fn times_map_back_to_the_original_audio() {
    let timeline = plan(
        60 * S,
        Some(&[Span::new(10 * S, 11 * S), Span::new(40 * S, 41 * S)]),
    );
    let [first, second] = timeline.pieces().to_vec()[..] else {
        panic!("two pieces expected");
    };
    let window = timeline.window_at(0).unwrap();
    let cs = |samples: usize| (samples / (S / 100)) as i64;
    let first_len = cs(first.end - first.start);
    assert_eq!(timeline.map_cs(window, 0, Bias::Start), cs(first.start));
    assert_eq!(
        timeline.map_cs(window, 50, Bias::Start),
        cs(first.start) + 50
    );
    // Inside the gap: a start moves to the next piece, an end back to the previous one.
    assert_eq!(
        timeline.map_cs(window, first_len + 5, Bias::Start),
        cs(second.start)
    );
    assert_eq!(
        timeline.map_cs(window, first_len + 5, Bias::End),
        cs(first.end)
    );
    // Past the end: clamped to the last piece.
    assert_eq!(timeline.map_cs(window, 9_999, Bias::End), cs(second.end));
}

#[test]
fn segments_map_back_with_their_window() {
    let timeline = plan(90 * S, None);
    let window = timeline.window_at(45 * S).unwrap();
    let mapped = timeline.map_segments(window, vec![segment(120, 380)]);
    let [only] = &mapped[..] else {
        panic!("one segment expected");
    };
    assert_eq!((only.t0, only.t1, only.seek), (4620, 4880, Some(4500)));
    assert_eq!(
        only.tokens.iter().map(|t| t.t0).collect::<Vec<_>>(),
        [4620, 4620, 4880]
    );
    assert_eq!(only.tokens[1].aligned_at, Some(4620));
}

#[test]
fn the_timeline_moves_to_the_end_of_the_last_segment_when_whisper_wanted_more() {
    let window = Window {
        start: 0,
        end: 30 * S,
    };
    let segments = vec![segment(0, 800), segment(800, 2650)];
    // Speech cut off at the window's end: the next window starts where the last segment ended.
    assert_eq!(
        advance(window, &raw(segments.clone(), true)),
        2650 * S / 100
    );
    // Whisper finished the window: the next one starts after it.
    assert_eq!(advance(window, &raw(segments, false)), 30 * S);
    // Nothing decoded, or a last segment ending too early to make progress: a whole window.
    assert_eq!(advance(window, &raw(Vec::new(), true)), 30 * S);
    assert_eq!(advance(window, &raw(vec![segment(0, 40)], true)), 30 * S);
}

#[test]
fn context_keeps_text_and_timestamps_up_to_whispers_prompt_size() {
    let mut context = Vec::new();
    let mut control = segment(0, 100);
    control.tokens.push(RawToken {
        is_control: true,
        ..token(50257, 100, 100, None)
    });
    carry_context(&mut context, &[control]);
    assert_eq!(context, [50364, 256, 50365]);
    let many: Vec<RawSegment> = (0..100).map(|i| segment(i * 10, i * 10 + 10)).collect();
    carry_context(&mut context, &many);
    assert_eq!(context.len(), MAX_CONTEXT_TOKENS);
    assert_eq!(context.last(), Some(&50365));
}

#!/usr/bin/env bash
# Makes the media rtpengine plays to waiting patients: pbx-config/media/intro.wav (a spoken welcome,
# espeak-ng) and pbx-config/media/hold-music.wav (a soft 24-second loop of plucked arpeggios over a
# pad and a bass line, sox). Both come out as 8 kHz mono 16-bit PCM WAV: the telephone band, so
# nothing is lost on the PCMU/PCMA trunk and rtpengine does not resample.
# Usage: bash scripts/make-media.sh [output-dir]   (default pbx-config/media). Needs espeak-ng and sox.
# The output is deterministic: with the same sox and espeak-ng, it gives the same bytes every time.
set -euo pipefail

repo_root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$repo_root/pbx-config/media}
for tool in espeak-ng sox; do
  command -v "$tool" >/dev/null || { echo "make-media: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done
mkdir -p "$out"
# -R: fixed seeds for the random parts (pluck excitation, dither), so the output is repeatable.
sox() { command sox -R "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The format every output file has; see pbx-config/media/README.md.
final_format=(-r 8000 -c 1 -b 16 -e signed-integer)
# Synthesis runs at 16 kHz so the 8 kHz result is band-limited cleanly.
rate=16000

# ---- intro.wav ----
intro_text="Thank you for calling the clinic. Please hold, the next available staff member will be with you shortly."
espeak-ng -v en-us+f3 -s 145 -p 45 -w "$work/intro-raw.wav" "$intro_text"
# A little silence before (the caller's audio path settles) and after (before the music starts).
sox "$work/intro-raw.wav" "${final_format[@]}" "$out/intro.wav" \
  highpass 120 lowpass 3400 gain -n -3 pad 0.3 0.6

# ---- hold-music.wav ----
# Eight chords of 3 s each (C Am F G C Am Dm G): the last G leads back into the first C, so the
# file loops without a seam. Each chord: seven plucked eighth notes and a rest, a quiet sine pad,
# and a bass note.
bar=3
eighth=0.375
chords=(
  "C3 E4 G4 C5 E5 C5 G4 E4"
  "A3 C4 E4 A4 C5 A4 E4 C4"
  "F3 A3 C4 F4 A4 F4 C4 A3"
  "G3 B3 D4 G4 B4 G4 D4 B3"
  "C3 E4 G4 C5 E5 C5 G4 E4"
  "A2 C4 E4 A4 C5 A4 E4 C4"
  "D3 F4 A4 D5 F5 D5 A4 F4"
  "G3 B3 D4 G4 B4 G4 D4 B3"
)
total=$(awk "BEGIN { print ${#chords[@]} * $bar }")

inputs=()
for i in "${!chords[@]}"; do
  read -r -a notes <<<"${chords[$i]}"
  start=$(awk "BEGIN { print $i * $bar }")
  bass=${notes[0]}
  # Bass: a soft triangle on the chord's root, swelling in and dying away over the bar. Its overtones
  # keep it audible on a telephone, which drops everything below about 300 Hz.
  sox -n -r $rate -c 1 "$work/bass-$i.wav" synth $bar triangle "$bass" vol 0.3 fade q 0.4 $bar 1.2 pad "$start"
  # Pad: the chord's upper notes as quiet sines, held for the bar.
  sox -n -r $rate -c 1 "$work/pad-$i.wav" synth $bar sine "${notes[1]}" sine "${notes[2]}" sine "${notes[3]}" \
    channels 1 vol 0.12 fade q 0.8 $bar 0.8 pad "$start"
  inputs+=("$work/bass-$i.wav" "$work/pad-$i.wav")
  for j in $(seq 1 7); do
    at=$(awk "BEGIN { print $start + ($j - 1) * $eighth }")
    sox -n -r $rate -c 1 "$work/note-$i-$j.wav" synth 1.2 pluck "${notes[$j]}" vol 0.35 fade 0 1.2 0.9 pad "$at"
    inputs+=("$work/note-$i-$j.wav")
  done
done

# -m divides each input by the number of inputs; norm brings the sum back to full scale.
sox -m "${inputs[@]}" "$work/mix.wav" norm -1
# A touch of room, telephone band, a soft level (peaks at -9 dBFS), and the exact loop length with a
# few milliseconds of fade so the loop point does not click.
sox "$work/mix.wav" "$work/room.wav" reverb 35 50 60 100 10 0 gain -n -1
sox "$work/room.wav" "${final_format[@]}" "$out/hold-music.wav" \
  highpass 80 lowpass 3400 remix 1 trim 0 "$total" gain -n -9 fade q 0.01 "$total" 0.05

echo "make-media: wrote $out/intro.wav ($(soxi -D "$out/intro.wav") s) and $out/hold-music.wav ($(soxi -D "$out/hold-music.wav") s)"

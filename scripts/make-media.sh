#!/usr/bin/env bash
# Makes the media rtpengine plays to callers: pbx-config/media/hold-music.wav (a soft 24-second loop
# of plucked arpeggios over a pad and a bass line, sox) and the call plan's prompts,
# pbx-config/media/prompts/<lang>/<name>.wav for every name of protocol/src/call-plan.ts (PROMPT_NAMES,
# position-1..PROMPT_POSITIONS, wait-<m> for m in PROMPT_WAIT_MINUTES) in English and Polish
# (espeak-ng), the intro among them. All come out as 8 kHz mono 16-bit PCM WAV: the telephone band, so
# nothing is lost on the PCMU/PCMA trunk and rtpengine does not resample. Each also comes as a `.au`
# beside it, the same audio as G.711 μ-law in a Sun audio file, which is what the sip app has
# rtpengine play (PromptFiles.playableFile): rtpengine 10.5 sends a .au evenly, 20 ms apart, and a WAV
# in bursts 0.1-0.3 s apart, at more cost per caller (bench/README.md, "hold-music-cost.ts"). The .wav
# stays for the panel's preview (browsers do not play .au).
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

# ---- prompts/<lang>/<name>.wav ----
# The names and numbers must match protocol/src/call-plan.ts (a unit test checks every file exists).
positions=20
wait_minutes=(1 2 3 4 5 6 7 8 9 10 15 20 25 30 45 60)
# One voice per language: espeak-ng's English, and its Polish (Debian main has no better free Polish
# voice: the mbrola ones are non-free; pbx-config/media/README.md).
declare -A voice=([en]=en-us+f3 [pl]=pl+f3)
declare -A speed=([en]=145 [pl]=140)

# speak <lang> <name> <text>: one prompt. A little silence before (the caller's audio path settles)
# and after (before the next prompt or the music).
speak() {
  local lang=$1 name=$2 text=$3
  mkdir -p "$out/prompts/$lang"
  espeak-ng -v "${voice[$lang]}" -s "${speed[$lang]}" -p 45 -w "$work/$lang-$name-raw.wav" "$text"
  sox "$work/$lang-$name-raw.wav" "${final_format[@]}" "$out/prompts/$lang/$name.wav" \
    highpass 120 lowpass 3400 gain -n -3 pad 0.3 0.4
}

declare -A en=(
  [intro]="Thank you for calling the clinic. Please hold, the next available staff member will be with you shortly."
  [closed]="The clinic is closed now. Please call again during our opening hours."
  [menu]="Please choose from the menu."
  [callback-offer]="To be called back without losing your place, press 1."
  [callback-confirmed]="Thank you. We will call you back as soon as possible. Goodbye."
  [voicemail-greeting]="Please leave a message after the tone. Press any key when you have finished."
  [voicemail-saved]="Thank you, your message has been saved. Goodbye."
  [position-many]="There are more than $positions callers ahead of you."
)
# Polish: the clinic speaks to the caller in the polite plural (Państwo), as Polish clinics do.
declare -A pl=(
  [intro]="Dziękujemy za telefon do przychodni. Prosimy czekać, pierwsza wolna osoba z personelu zaraz odbierze."
  [closed]="Przychodnia jest teraz zamknięta. Prosimy zadzwonić ponownie w godzinach otwarcia."
  [menu]="Prosimy wybrać opcję z menu."
  [callback-offer]="Aby zamówić telefon zwrotny bez utraty miejsca w kolejce, prosimy nacisnąć 1."
  [callback-confirmed]="Dziękujemy. Oddzwonimy najszybciej, jak to możliwe. Do widzenia."
  [voicemail-greeting]="Prosimy zostawić wiadomość po sygnale. Po zakończeniu prosimy nacisnąć dowolny klawisz."
  [voicemail-saved]="Dziękujemy, wiadomość została zapisana. Do widzenia."
  [position-many]="Przed Państwem czeka ponad dwadzieścia osób."
)
for lang in en pl; do
  declare -n texts=$lang
  for name in "${!texts[@]}"; do speak "$lang" "$name" "${texts[$name]}"; done
  unset -n texts
done

# The voicemail greeting ends with its tone: 0.5 s of 1 kHz, 0.3 s after the words.
sox -n "${final_format[@]}" "$work/beep.wav" synth 0.5 sine 1000 gain -6 fade q 0.01 0.5 0.01 pad 0 0.2
for lang in en pl; do
  mv "$out/prompts/$lang/voicemail-greeting.wav" "$work/$lang-greeting.wav"
  sox "$work/$lang-greeting.wav" "$work/beep.wav" "$out/prompts/$lang/voicemail-greeting.wav"
done

# Positions: "Państwa miejsce w kolejce: 3" reads the number in the nominative, the same for a man
# and a woman ("Jest Pan trzeci" / "Jest Pani trzecia" would need the caller's gender).
for n in $(seq 1 $positions); do
  speak en "position-$n" "You are number $n in the queue."
  speak pl "position-$n" "Państwa miejsce w kolejce: $n."
done

# Waiting times. Polish numbers are spelled out: the noun agrees with them (1 minuta, 2-4 minuty,
# 5-21 minut, 22-24 minuty, 25 minut...) and "one" and "two" are feminine (jedna, dwie), which
# espeak-ng would not know from digits.
declare -A pl_number=([1]=jedna [2]=dwie [3]=trzy [4]=cztery [5]=pięć [6]=sześć [7]=siedem [8]=osiem [9]=dziewięć
  [10]=dziesięć [15]=piętnaście [20]=dwadzieścia [25]="dwadzieścia pięć" [30]=trzydzieści
  [45]="czterdzieści pięć")
pl_minutes() {
  local n=$1
  if ((n == 1)); then echo minuta
  elif ((n % 10 >= 2 && n % 10 <= 4 && (n % 100 < 12 || n % 100 > 14))); then echo minuty
  else echo minut; fi
}
for m in "${wait_minutes[@]}"; do
  if ((m == 60)); then
    speak en "wait-$m" "The expected waiting time is about one hour."
    speak pl "wait-$m" "Przewidywany czas oczekiwania to mniej więcej godzina."
  else
    unit=minutes
    ((m == 1)) && unit=minute
    speak en "wait-$m" "The expected waiting time is about $m $unit."
    speak pl "wait-$m" "Przewidywany czas oczekiwania to mniej więcej ${pl_number[$m]} $(pl_minutes "$m")."
  fi
done

# What rtpengine plays (see the top): each written after its .wav, so that it is not older.
find "$out/prompts" -name '*.wav' -print0 | sort -z | while IFS= read -r -d '' wav; do
  sox "$wav" -e u-law -t au "${wav%.wav}.au"
done
sox "$out/hold-music.wav" -e u-law -t au "$out/hold-music.au"

echo "make-media: wrote $out/hold-music.wav ($(soxi -D "$out/hold-music.wav") s) and $(find "$out/prompts" -name '*.wav' | wc -l) prompts in $out/prompts, each with its .au"

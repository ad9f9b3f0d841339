"""Built-in Audio datasets, spoken by espeak-ng and written as numpy arrays.

    python3 -m proctor_backbone.audiodata <outdir> <name>

Names: audio-keywords (keyword spotting, the ten digits) and audio-speakers (speaker identification,
eight voices). Every utterance's voice, speed, pitch, noise and gain come from a seeded generator, and
espeak-ng renders the same text with the same parameters to the same bytes, so a name gives the same
files with the same image. The splits of audio-keywords are spoken by different voices (a keyword model
must work for a voice it never heard); the splits of audio-speakers use different words (a speaker model
must not recognise the word instead of the voice).

The voice variants and words here are kept apart from those the reference backbone is pre-trained on
(test/fixtures/backbones/audio/pretrain.py), so its scores are a transfer result, not a memory of the
test items.
"""

import concurrent.futures
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import wave

import numpy as np

SAMPLE_RATE = 16000
MAX_SAMPLES = 16000  # one second: the longest word here lasts about 0.8 s at the slowest speed

# English accents of espeak-ng 1.51 and the voice variants (formant and pitch sets) the built-in sets use.
ACCENTS = [
    "en",
    "en-us",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-029",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-us-nyc",
]
VARIANTS = ["m1", "m3", "m4", "m7", "f1", "f2", "f4", "klatt", "klatt3", "croak", "Annie", "Michael"]

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

# Speaker identification: one (accent, variant, pitch) per speaker, chosen to be told apart by ear.
SPEAKERS = [
    ("en-us", "m1", 40),
    ("en", "f2", 60),
    ("en-gb-scotland", "m3", 50),
    ("en-029", "f4", 55),
    ("en-gb-x-rp", "m7", 45),
    ("en-gb-x-gbclan", "f1", 65),
    ("en-gb-x-gbcwmd", "m4", 35),
    ("en-us-nyc", "klatt", 50),
]
SPEAKER_WORDS = {
    "train": (
        "apple river garden window pencil yellow market silver basket candle doctor forest guitar hammer island "
        "jacket kitten lemon mirror needle orange pepper rabbit saddle tiger velvet wagon zebra button copper"
    ).split(),
    "val": "dinner engine finger ginger honey ladder monkey napkin paper rocket".split(),
    "test": (
        "sugar tunnel valley winter anchor bottle cactus dragon feather helmet kettle lizard meadow nickel otter "
        "puzzle quarter ribbon salmon turtle"
    ).split(),
}

KEYWORD_SPEAKERS_PER_SPLIT = {"train": 40, "val": 8, "test": 16}


class GenerationError(Exception):
    pass


def espeak_version():
    try:
        out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as err:
        raise GenerationError(f"espeak-ng is needed to generate the Audio datasets and could not run: {err}")
    # "eSpeak NG text-to-speech: 1.51  Data at: ..." -> "espeak-ng 1.51"
    return "espeak-ng " + out.split(":", 1)[1].split()[0]


def speak(tmpdir, index, voice, speed, pitch, text):
    """Renders text to a WAV file with espeak-ng and returns its samples as float32 at the file's rate."""
    path = os.path.join(tmpdir, f"{index}.wav")
    cmd = ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", path, text]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise GenerationError(f"espeak-ng failed for {cmd[1:-1]} {text!r}: {done.stderr.strip()}")
    with wave.open(path, "rb") as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise GenerationError(f"espeak-ng wrote an unexpected WAV format for {voice}: "
                                  f"{wav.getnchannels()} channels, {wav.getsampwidth()} bytes per sample")
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    os.remove(path)
    return samples, rate


def resample(x, rate_in, rate_out=SAMPLE_RATE):
    """Band-limited resampling through the real FFT (the signal starts and ends in silence, so the
    transform's periodic edges do no harm)."""
    if rate_in == rate_out:
        return x.astype(np.float32)
    n_out = int(round(len(x) * rate_out / rate_in))
    spectrum = np.fft.rfft(x.astype(np.float64))
    keep = n_out // 2 + 1
    if keep <= len(spectrum):
        spectrum = spectrum[:keep]
    else:
        spectrum = np.concatenate([spectrum, np.zeros(keep - len(spectrum), dtype=spectrum.dtype)])
    return (np.fft.irfft(spectrum, n_out) * (n_out / len(x))).astype(np.float32)


def trim(x, threshold=0.005, margin=320):
    loud = np.nonzero(np.abs(x) > threshold)[0]
    if len(loud) == 0:
        return x[:0]
    return x[max(0, loud[0] - margin) : loud[-1] + margin + 1]


def keyword_items(rng):
    """(split, label, voice, speed, pitch, text) for audio-keywords: each voice says every digit once;
    the voices of the three splits are disjoint."""
    combos = [(a, v) for a in ACCENTS for v in VARIANTS]
    order = rng.permutation(len(combos))
    items, start = [], 0
    for split in ("train", "val", "test"):
        count = KEYWORD_SPEAKERS_PER_SPLIT[split]
        for k in order[start : start + count]:
            accent, variant = combos[k]
            for label, word in enumerate(DIGITS):
                speed = int(rng.integers(130, 191))
                pitch = int(rng.integers(25, 76))
                items.append((split, label, f"{accent}+{variant}", speed, pitch, word))
        start += count
    return items


def speaker_items(rng):
    """audio-speakers: every speaker says every word of a split; the splits' words are disjoint."""
    items = []
    for split in ("train", "val", "test"):
        for word in SPEAKER_WORDS[split]:
            for label, (accent, variant, pitch) in enumerate(SPEAKERS):
                speed = int(rng.integers(120, 201))
                jitter = int(rng.integers(-10, 11))
                items.append((split, label, f"{accent}+{variant}", speed, pitch + jitter, word))
    return items


DATASETS = {
    "audio-keywords": {
        "task": "keyword_spotting",
        "classes": DIGITS,
        "seed": 1801,
        "items": keyword_items,
        "snr": (0.0, 20.0),
        "description": "The digits zero to nine spoken by espeak-ng; train, val and test use different voices "
        "(accent + variant); each utterance has its own speed and pitch and lies in coloured noise at 0-20 dB SNR.",
    },
    "audio-speakers": {
        "task": "speaker_id",
        "classes": [f"{a}+{v}" for a, v, _ in SPEAKERS],
        "seed": 1802,
        "items": speaker_items,
        "snr": (5.0, 25.0),
        "description": "Eight espeak-ng voices saying two-syllable words; train, val and test use different words, "
        "each utterance has its own speed and pitch change and lies in coloured noise at 5-25 dB SNR.",
    },
}


def render(items, rng, workers, snr_db):
    """Speaks every item (in parallel: espeak-ng runs as separate processes) and post-processes the
    waveforms in item order, drawing noise and gain from rng, so the result does not depend on workers.
    snr_db None: the clean, trimmed utterances."""
    tmpdir = tempfile.mkdtemp(prefix="proctor-audiodata-")
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [
                pool.submit(speak, tmpdir, i, voice, speed, pitch, text)
                for i, (_, _, voice, speed, pitch, text) in enumerate(items)
            ]
            raw = [f.result() for f in futures]
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    waves = []
    for (split, label, voice, speed, pitch, text), (samples, rate) in zip(items, raw):
        x = trim(resample(samples, rate))
        if len(x) == 0:
            raise GenerationError(f"espeak-ng produced silence for {voice} {text!r}")
        waves.append(x[:MAX_SAMPLES] if snr_db is None else in_noise(x, rng, snr_db))
    return waves


def coloured_noise(n, rng):
    """Noise between white and brown: white noise shaped by f^(-slope/2), slope drawn in 0..2."""
    spectrum = np.fft.rfft(rng.normal(size=n))
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0
    spectrum *= f ** (-rng.uniform(0.0, 2.0) / 2)
    noise = np.fft.irfft(spectrum, n)
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-12)


def in_noise(speech, rng, snr_db):
    """The utterance somewhere in a clip of noise: up to 0.15 s of noise before and after it, the noise's
    colour and level (signal-to-noise ratio in snr_db, over the utterance) drawn per clip, then a random
    gain. Mean-pooling encoders see the noise-only margins too, as in real keyword clips."""
    before = int(rng.integers(0, int(0.15 * SAMPLE_RATE) + 1))
    after = int(rng.integers(0, int(0.15 * SAMPLE_RATE) + 1))
    x = np.concatenate([np.zeros(before), speech.astype(np.float64), np.zeros(after)])[:MAX_SAMPLES]
    rms = np.sqrt(np.mean(speech.astype(np.float64) ** 2))
    snr = rng.uniform(*snr_db)
    x = x + coloured_noise(len(x), rng) * rms / (10 ** (snr / 20))
    x = x * (rng.uniform(0.3, 0.9) / np.abs(x).max())
    return x.astype(np.float32)


def generate(outdir, name, workers=None):
    if name not in DATASETS:
        raise GenerationError(f"unknown Audio dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    spec = DATASETS[name]
    generator = espeak_version()
    rng = np.random.default_rng(spec["seed"])
    items = spec["items"](rng)
    waves = render(items, rng, workers or min(8, os.cpu_count() or 1), spec["snr"])
    os.makedirs(outdir, exist_ok=True)
    splits = {}
    for split in ("train", "val", "test"):
        chosen = [i for i, item in enumerate(items) if item[0] == split]
        audio = np.zeros((len(chosen), MAX_SAMPLES), dtype=np.float32)
        lengths = np.zeros(len(chosen), dtype=np.int64)
        labels = np.zeros(len(chosen), dtype=np.int64)
        for row, i in enumerate(chosen):
            audio[row, : len(waves[i])] = waves[i]
            lengths[row] = len(waves[i])
            labels[row] = items[i][1]
        np.save(os.path.join(outdir, f"{split}_audio.npy"), audio)
        np.save(os.path.join(outdir, f"{split}_lengths.npy"), lengths)
        np.save(os.path.join(outdir, f"{split}_labels.npy"), labels)
        splits[split] = len(chosen)
    meta = {
        "name": name,
        "domain": "audio",
        "task": spec["task"],
        "classes": spec["classes"],
        "splits": splits,
        "sampleRate": SAMPLE_RATE,
        "maxSamples": MAX_SAMPLES,
        "generator": generator,
        "description": spec["description"],
    }
    with open(os.path.join(outdir, "dataset.json"), "w") as f:
        json.dump(meta, f, indent=2, sort_keys=True)
        f.write("\n")
    return meta


def content_hash(outdir):
    """sha256 over the sorted file names and bytes, as the platform records it."""
    digest = hashlib.sha256()
    for name in sorted(os.listdir(outdir)):
        if not os.path.isfile(os.path.join(outdir, name)):
            continue
        digest.update(name.encode())
        with open(os.path.join(outdir, name), "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()


def main(argv):
    if len(argv) != 2:
        print("usage: python3 -m proctor_backbone.audiodata <outdir> <name>", file=sys.stderr)
        return 2
    try:
        meta = generate(argv[0], argv[1])
    except GenerationError as err:
        print(str(err), file=sys.stderr)
        return 2
    print(json.dumps({"name": meta["name"], "splits": meta["splits"], "sha256": content_hash(argv[0])}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

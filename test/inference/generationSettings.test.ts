/**
 * Completion-mode prompt templates as run_eval writes them, and what the generation settings
 * become in a request body: greedy decoding, unset settings left out, and maxModelLen's budget.
 */
import { describe, expect, it } from 'vitest';
import { applyTemplate, mergeStops } from '../../activities/inference/promptTemplates';
import {
  answerTokens,
  estimatePromptTokens,
  funcSampling,
  nthCompletion,
  openAiSampling,
} from '../../activities/inference/samplingRequest';
import { InferenceError } from '../../activities/inference/inferenceErrors';
import type { InferenceParams } from '../../contracts/evaluation';

const PARAMS: InferenceParams = { maxTokens: 100, temperature: 0.7, topP: 0.9 };

describe('applyTemplate', () => {
  it('writes the built-in templates as run_eval has them, each with its stop words', () => {
    expect(applyTemplate({ name: 'chatml' }, 'Q?', undefined)).toEqual({
      text: '<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\n',
      stopWords: ['<|im_end|>', '<|endoftext|>'],
    });
    expect(applyTemplate({ name: 'qwen' }, 'Q?', undefined)).toEqual({
      text: '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\n',
      stopWords: ['<|im_end|>', '<|endoftext|>'],
    });
    expect(applyTemplate({ name: 'r1' }, 'Q?', undefined)).toEqual({
      text: '<｜begin▁of▁sentence｜><｜User｜>Q?<｜Assistant｜><think>\n',
      stopWords: ['<｜end▁of▁sentence｜>'],
    });
    const thinker = applyTemplate({ name: 'internthinker' }, 'Q?', undefined);
    expect(thinker.text).toMatch(/^<\|im_start\|>system\nYou are an expert reasoner with extensive experience/);
    expect(thinker.text).toMatch(
      /Please put your thinking process within <think>\.\.\.<\/think> tags\.<\|im_end\|>\n<\|im_start\|>user\nQ\?<\|im_end\|>\n<\|im_start\|>assistant\n$/,
    );
    expect(thinker.stopWords).toEqual(['<|im_end|>', '<|endoftext|>']);
  });

  it('puts a system prompt where each template keeps it', () => {
    expect(applyTemplate({ name: 'chatml' }, 'Q?', 'Be brief.').text).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(applyTemplate({ name: 'qwen' }, 'Q?', 'Be brief.').text).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nQ?<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(applyTemplate({ name: 'internthinker' }, 'Q?', 'Be brief.').text).not.toMatch(/expert reasoner/);
    expect(applyTemplate({ name: 'r1' }, 'Q?', 'Be brief.').text).toBe(
      '<｜begin▁of▁sentence｜>Be brief.<｜User｜>Q?<｜Assistant｜><think>\n',
    );
    // An empty system prompt is none: the template's own stays.
    expect(applyTemplate({ name: 'qwen' }, 'Q?', '').text).toMatch(/You are a helpful assistant\./);
  });

  it('fills a custom template at every {input} and {system}, and nowhere else', () => {
    const template = {
      name: 'custom' as const,
      text: '[{system}] {input} | again: {input} {other}',
      stopWords: ['</s>'],
    };
    expect(applyTemplate(template, 'a {system} b', 'S')).toEqual({
      text: '[S] a {system} b | again: a {system} b {other}',
      stopWords: ['</s>'],
    });
    expect(applyTemplate({ name: 'custom', text: 'User: {input}\nBot:' }, 'hi', undefined)).toEqual({
      text: 'User: hi\nBot:',
      stopWords: [],
    });
    expect(applyTemplate(template, '$& $1', undefined).text).toBe('[] $& $1 | again: $& $1 {other}');
  });

  it('merges the stop words into the run’s stop sequences, each once', () => {
    expect(mergeStops(['###', '<|im_end|>'], ['<|im_end|>', '<|endoftext|>'])).toEqual([
      '###',
      '<|im_end|>',
      '<|endoftext|>',
    ]);
    expect(mergeStops(undefined, [])).toEqual([]);
  });
});

describe('openAiSampling', () => {
  it('sends what is set and leaves out what is not', () => {
    expect(openAiSampling(PARAMS, 'hi', [])).toEqual({ max_tokens: 100, temperature: 0.7, top_p: 0.9 });
    expect(
      openAiSampling({ ...PARAMS, topK: 20, repetitionPenalty: 1.05, seed: 0, doSample: true }, 'hi', ['\n\n']),
    ).toEqual({
      max_tokens: 100,
      temperature: 0.7,
      top_p: 0.9,
      top_k: 20,
      repetition_penalty: 1.05,
      seed: 0,
      stop: ['\n\n'],
    });
  });

  it('decodes greedily when doSample is false: temperature 0, top_p 1, no top_k or repetition_penalty', () => {
    expect(
      openAiSampling({ ...PARAMS, topK: 20, repetitionPenalty: 1.05, seed: 7, doSample: false }, 'hi', ['x']),
    ).toEqual({ max_tokens: 100, temperature: 0, top_p: 1, seed: 7, stop: ['x'] });
    expect(funcSampling({ ...PARAMS, doSample: false }, 'hi', ['x'])).toEqual({
      temperature: 0,
      top_p: 1,
      max_new_tokens: 100,
      stop_sequences: ['x'],
    });
  });
});

describe('nthCompletion', () => {
  it('moves a seed on for each further completion of one prompt, so a seeded server does not repeat itself', () => {
    const seeded = { ...PARAMS, seed: 2_147_483_646 };
    expect(nthCompletion(seeded, 0)).toBe(seeded);
    expect(nthCompletion(seeded, 1)).toEqual({ ...PARAMS, seed: 2_147_483_647 });
    expect(nthCompletion(seeded, 2)).toEqual({ ...PARAMS, seed: 0 });
    expect(nthCompletion(PARAMS, 3)).toBe(PARAMS);
  });
});

describe('maxModelLen', () => {
  it('estimates a token per three ASCII characters and one per other character, rounded up', () => {
    expect(estimatePromptTokens('')).toBe(0);
    expect(estimatePromptTokens('abcd')).toBe(2);
    expect(estimatePromptTokens('中文')).toBe(2);
    expect(estimatePromptTokens('ab中')).toBe(2);
  });

  it('lowers max_tokens to what the prompt leaves, and keeps it when it fits', () => {
    const prompt = 'x'.repeat(300); // about 100 tokens
    expect(answerTokens({ ...PARAMS, maxTokens: 500 }, prompt)).toBe(500);
    expect(answerTokens({ ...PARAMS, maxTokens: 500, maxModelLen: 1000 }, prompt)).toBe(500);
    expect(answerTokens({ ...PARAMS, maxTokens: 5000, maxModelLen: 1000 }, prompt)).toBe(900);
    expect(openAiSampling({ ...PARAMS, maxTokens: 5000, maxModelLen: 1000 }, prompt, []).max_tokens).toBe(900);
    expect(funcSampling({ ...PARAMS, maxTokens: 5000, maxModelLen: 1000 }, prompt, []).max_new_tokens).toBe(900);
  });

  it('fails a prompt that leaves no room for an answer, saying why, as a request not worth retrying', () => {
    const error = (() => {
      try {
        answerTokens({ ...PARAMS, maxModelLen: 128 }, 'x'.repeat(384));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InferenceError);
    expect(error).toMatchObject({ kind: 'bad_request', retryable: false });
    expect((error as Error).message).toBe(
      'the prompt is about 128 tokens (estimated), which leaves no room for an answer within maxModelLen 128',
    );
    expect(answerTokens({ ...PARAMS, maxModelLen: 128 }, 'x'.repeat(381))).toBe(1);
  });
});

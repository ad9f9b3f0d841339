/** The pure parts of judge scoring: prompt templates, processing steps, the pipeline and the config rules. */
import { describe, expect, it } from 'vitest';
import { renderTemplate, templateProblems } from '../../scoring/judge/promptTemplate';
import { applyPostprocess, applyPreprocess, finalScore, patternProblems } from '../../scoring/judge/processingSteps';
import {
  NO_JUDGE_REASON,
  scoreWithJudge,
  type JudgeMessage,
  type ResolvedJudge,
} from '../../scoring/judge/scoreWithJudge';
import { checkScoringConfig } from '../../scoring/judge/checkScoringConfig';
import { inlineScore } from '../../scoring/judge/inlineScore';
import { gradeReply } from '../support/judgeStandIn';
import { ConfigError, loadEndpointSettings, loadPlatformJudge } from '../../config/env';
import { resolveJudgeTarget } from '../../activities/judging/resolveJudge';
import type { Db } from '../../db/client';

const judgeReplying = (reply: string, seen: JudgeMessage[][] = []): ResolvedJudge => ({
  model: 'stand-in',
  call: async (messages) => {
    seen.push(messages);
    return { ok: true, reply, attempts: 1, latencyMs: 3 };
  },
});

describe('prompt templates', () => {
  it('fills placeholders, keeps literal braces and JSON alone', () => {
    const out = renderTemplate('Q: {question}\nA: {answer}\nR: {reference}\n{{literal}} {"score": 1}', {
      question: 'q?',
      answer: 'a',
      reference: 'r',
      choices: '',
    });
    expect(out).toBe('Q: q?\nA: a\nR: r\n{literal} {"score": 1}');
  });
  it('does not re-expand placeholders that appear inside values', () => {
    expect(
      renderTemplate('{answer} / {reference}', { question: '', answer: '{reference}', reference: 'x', choices: '' }),
    ).toBe('{reference} / x');
  });
  it('refuses unknown placeholders by name and a template without {answer}', () => {
    expect(templateProblems('Grade {answr} against {reference}')).toEqual([
      expect.stringContaining('{answr}'),
      'must contain {answer}, where the answer to grade goes',
    ]);
    expect(templateProblems('Grade {answer}; {{not a placeholder}}')).toEqual([]);
  });
});

describe('processing steps', () => {
  it('preprocesses: trim, thinking blocks, last line, regex (keeping the text when nothing matches), truncate', () => {
    expect(applyPreprocess('stripThinking', '<think>hmm, 41?</think>\nThe answer is 42')).toBe('The answer is 42');
    expect(applyPreprocess('stripThinking', 'cut off <think>still thinking')).toBe('cut off');
    expect(applyPreprocess('lastLine', 'work\n\nAnswer: 7\n')).toBe('Answer: 7');
    expect(applyPreprocess({ regexExtract: { pattern: 'Answer:\\s*(\\d+)' } }, 'Answer: 7')).toBe('7');
    expect(applyPreprocess({ regexExtract: { pattern: 'Answer:\\s*(\\d+)' } }, 'no answer')).toBe('no answer');
    expect(applyPreprocess({ truncate: 3 }, 'abcdef')).toBe('abc');
  });
  it('postprocesses into a score, failing with a reason a user can act on', () => {
    expect(applyPostprocess({ regexExtract: { pattern: 'Score:\\s*(\\d+)' } }, 'Score: 8/10')).toBe('8');
    expect(applyPostprocess({ scale: { min: 0, max: 10 } }, '8')).toBeCloseTo(0.8);
    expect(applyPostprocess({ mapLabels: { Correct: 1, Incorrect: 0 } }, '  correct ')).toBe(1);
    expect(applyPostprocess('clamp', 1.4)).toBe(1);
    expect(() => applyPostprocess({ regexExtract: { pattern: 'Score:\\s*(\\d+)' } }, 'no idea')).toThrow(
      /found no match/,
    );
    expect(() => applyPostprocess({ mapLabels: { yes: 1 } }, 'maybe')).toThrow(/none of the labels yes/);
    expect(() => finalScore(3)).toThrow(/outside 0..1/);
    expect(() => finalScore('abc')).toThrow(/not a number/);
    expect(finalScore('8/10')).toBeCloseTo(0.8);
  });
  it('refuses patterns that do not compile or can backtrack without end', () => {
    expect(patternProblems('(')).toMatch(/valid regular expression/);
    expect(patternProblems('(a+)+$')).toMatch(/exponential/);
    expect(patternProblems('(\\w)\\1')).toMatch(/backreferences/);
    expect(patternProblems('Score:\\s*(\\d+)')).toBeNull();
  });
});

describe('scoreWithJudge', () => {
  const sample = { question: 'What is 2 + 2?', answer: '  <think>2+2</think>4  ', reference: '4' };

  it('keeps every step: preprocessing, the exact prompt, the raw reply, each postprocessing result, the score', async () => {
    const seen: JudgeMessage[][] = [];
    const trace = await scoreWithJudge(
      {
        systemPrompt: 'Be strict.',
        preprocess: ['stripThinking', 'trim'],
        prompt: 'Reference answer:\n{reference}\nAnswer to grade:\n{answer}',
      },
      judgeReplying(gradeReply('Reference answer:\n4\nAnswer to grade:\n4', false), seen),
      sample,
    );
    expect(trace.method).toBe('judge');
    expect(trace.error).toBeNull();
    expect(trace.score).toBeCloseTo(0.9);
    expect(trace.steps.map((s) => s.step)).toEqual([
      'preprocess',
      'preprocess',
      'prompt',
      'judge',
      'postprocess',
      'postprocess',
      'postprocess',
      'score',
    ]);
    expect(seen[0]).toEqual([
      { role: 'system', content: 'Be strict.' },
      { role: 'user', content: 'Reference answer:\n4\nAnswer to grade:\n4' },
    ]);
    expect(trace.steps[2]).toEqual({ step: 'prompt', messages: seen[0] });
    expect(trace.steps[3]).toMatchObject({
      step: 'judge',
      model: 'stand-in',
      reply: 'Score: 9/10\nThe answer agrees with the reference.',
      attempts: 1,
    });
  });

  it('fails the sample with the postprocessing step that could not read a garbage reply', async () => {
    const trace = await scoreWithJudge({}, judgeReplying('I am unable to help.'), sample);
    expect(trace.score).toBeNull();
    expect(trace.error).toMatch(/^postprocessing step 1 \(regexExtract\) failed: found no match/);
    expect(trace.steps.at(-1)).toMatchObject({ step: 'postprocess', output: null });
  });

  it("fails the sample with the judge's reason when no reply came", async () => {
    const down: ResolvedJudge = {
      model: 'j',
      call: async () => ({
        ok: false,
        reason: 'judge unreachable after 3 attempts: connection refused (ECONNREFUSED)',
        kind: 'connection',
        attempts: 3,
        latencyMs: 9,
      }),
    };
    const trace = await scoreWithJudge({}, down, sample);
    expect(trace).toMatchObject({
      score: null,
      attempts: 3,
      error: 'judge unreachable after 3 attempts: connection refused (ECONNREFUSED)',
    });
  });

  it('falls back to exact match with no judge, and says so in the steps', async () => {
    const trace = await scoreWithJudge({ preprocess: ['stripThinking'] }, null, sample);
    expect(trace).toMatchObject({ method: 'exact_match_fallback', score: 1, error: null, attempts: 0 });
    expect(trace.steps).toContainEqual({ step: 'fallback', reason: NO_JUDGE_REASON, metric: 'exact_match' });
    expect((await scoreWithJudge({}, null, { ...sample, answer: '5' })).score).toBe(0);
  });
});

describe('scoring configuration rules', () => {
  it('puts pass_at_k on code datasets only, with n completions and ks no larger than n', () => {
    const code = new Set(['code-python-basic']);
    const datasets = ['arith-basic', 'code-python-basic'];
    const plain = (x: string, key: string) => `${x}.${key}`;
    expect(
      checkScoringConfig(
        { datasets: { 'code-python-basic': { metric: 'pass_at_k', options: { n: 10, ks: [1, 5, 10] } } } },
        datasets,
        plain,
        code,
      ),
    ).toEqual([]);
    const errors = checkScoringConfig(
      {
        default: { metric: 'pass_at_k' },
        datasets: {
          'arith-basic': { metric: 'pass_at_k', options: { n: 2 } },
          'code-python-basic': { metric: 'f1', options: { n: 3, ks: [1, 4] } },
        },
      },
      datasets,
      plain,
      code,
    );
    expect(errors.map((e) => e.field)).toEqual([
      'default.metric',
      'datasets.arith-basic.metric',
      'datasets.code-python-basic.metric',
      'datasets.code-python-basic.options.n',
      'datasets.code-python-basic.options.ks',
      'datasets.code-python-basic.options.ks[1]',
    ]);
    expect(errors.find((e) => e.field === 'datasets.code-python-basic.options.ks[1]')?.message).toMatch(
      /at most options.n \(3\)/,
    );
  });

  it('names each offending field path', () => {
    const errors = checkScoringConfig(
      {
        default: { metric: 'f1', prompt: 'x {answer}' },
        datasets: {
          'arith-basic': { metric: 'exact_match', options: { absoluteTolerance: 0.1 } },
          'word-reverse': {
            metric: 'judge',
            prompt: 'grade {answr}',
            postprocess: [{ regexExtract: { pattern: '(a+)+' } }, { scale: { min: 1, max: 1 } }],
          },
          'not-mine': { metric: 'f1' },
        },
      },
      ['arith-basic', 'word-reverse'],
    );
    expect(errors.map((e) => e.field)).toEqual([
      'default.prompt',
      'datasets.arith-basic.options.absoluteTolerance',
      'datasets.word-reverse.prompt',
      'datasets.word-reverse.postprocess[0].regexExtract.pattern',
      'datasets.word-reverse.postprocess[1].scale.max',
      'datasets.not-mine',
    ]);
  });
});

describe('inline scoring in the inference batch', () => {
  it('scores rule metrics with their options and leaves judge metrics pending', () => {
    const item = { groundTruth: '3.14' };
    expect(inlineScore(undefined, 'numeric_match', '3.1', item)).toEqual({ score: 0, status: 'scored' });
    expect(
      inlineScore({ metric: 'numeric_match', options: { absoluteTolerance: 0.05 } }, 'exact_match', '3.1', item),
    ).toEqual({ score: 1, status: 'scored' });
    expect(inlineScore({ metric: 'judge' }, 'exact_match', '3.14', item)).toEqual({ score: null, status: 'pending' });
  });
});

describe('the platform judge (PROCTOR_JUDGE_*)', () => {
  it('is read from the environment, both or neither', () => {
    expect(loadPlatformJudge({})).toBeNull();
    expect(
      loadPlatformJudge({ PROCTOR_JUDGE_BASE_URL: 'http://judge:8000/v1', PROCTOR_JUDGE_MODEL: 'qwen2-7b-instruct' }),
    ).toEqual({
      baseUrl: 'http://judge:8000/v1',
      model: 'qwen2-7b-instruct',
      apiKey: null,
    });
    expect(() => loadPlatformJudge({ PROCTOR_JUDGE_MODEL: 'm' })).toThrow(ConfigError);
    expect(() => loadPlatformJudge({ PROCTOR_JUDGE_BASE_URL: 'judge:8000', PROCTOR_JUDGE_MODEL: 'm' })).toThrow(
      /http\(s\) URL/,
    );
  });

  it('judges a metric that names no judge; one that does keeps its own; with neither there is none (exact match)', async () => {
    const platform = { baseUrl: 'http://platform/v1', model: 'p', apiKey: 'sk-platform' };
    const noDb = null as unknown as Db;
    const endpoints = loadEndpointSettings({
      PROCTOR_ENDPOINT_DENY_NETWORKS: 'loopback',
      PROCTOR_MAX_ANSWER_BYTES: '65536',
    });
    // The platform's judge is the operator's: only the answer cap applies; a judge the user named is refused the denied networks too.
    expect(await resolveJudgeTarget(noDb, Buffer.alloc(32), { judge: undefined }, platform, endpoints)).toEqual({
      ...platform,
      transport: { maxAnswerBytes: 65536 },
    });
    expect(
      await resolveJudgeTarget(
        noDb,
        Buffer.alloc(32),
        { judge: { baseUrl: 'http://own/v1', model: 'o', apiKeyId: null } },
        platform,
        endpoints,
      ),
    ).toEqual({
      baseUrl: 'http://own/v1',
      model: 'o',
      apiKey: null,
      transport: endpoints,
    });
    expect(await resolveJudgeTarget(noDb, Buffer.alloc(32), { judge: undefined }, null, endpoints)).toBeNull();
  });
});

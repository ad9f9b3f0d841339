/**
 * What a budget takes for a request before it is made (activities/traffic/governedEndpoint.ts):
 * the prompt and system prompt counted the way tokens are counted where an endpoint reports none
 * (activities/inference/tokenCount.ts: a token per CJK character, one per four other characters),
 * plus the request's max_tokens.
 */
import { describe, expect, it } from 'vitest';
import { reckonedTokens } from '../../activities/traffic/governedEndpoint';

describe('reckonedTokens', () => {
  it('counts the prompt as the token counter does, and adds max_tokens', () => {
    expect(reckonedTokens('abcdefgh', { maxTokens: 10 })).toBe(2 + 10);
    expect(reckonedTokens('今天天气', { maxTokens: 1 })).toBe(4 + 1);
  });

  it('counts the system prompt and the text of a question with pictures', () => {
    expect(reckonedTokens('abcd', { maxTokens: 0, systemPrompt: 'be brief' })).toBe(1 + 2);
    expect(reckonedTokens({ text: 'abcd', images: [] }, { maxTokens: 3 })).toBe(1 + 3);
  });
});

import { describe, expect, it } from 'vitest';
import { withProgramPrefix } from '../../scoring/programPrefix';
import { extractProgram } from '../../scoring/extractProgram';

const PROMPT = 'from typing import List\n\n\ndef total(xs: List[int]) -> int:\n    """Sum of xs."""\n';

describe('withProgramPrefix', () => {
  it('runs the program alone when the item has no prefix', () => {
    expect(withProgramPrefix('def f():\n    return 1\n', null)).toBe('def f():\n    return 1\n');
    expect(withProgramPrefix('def f():\n    return 1\n', undefined)).toBe('def f():\n    return 1\n');
    expect(withProgramPrefix('def f():\n    return 1\n', '')).toBe('def f():\n    return 1\n');
  });

  it('continues the prompt with a bare body, as a completion model answers', () => {
    const answer = '    return sum(xs)\n';
    expect(withProgramPrefix(extractProgram(answer, 'total'), PROMPT)).toBe(`${PROMPT}    return sum(xs)\n`);
  });

  it('puts a whole function after the prompt, whose stub it replaces, keeping the prompt’s imports', () => {
    const answer = 'Sure:\n```python\ndef total(xs: List[int]) -> int:\n    return sum(xs)\n```\nDone.';
    expect(withProgramPrefix(extractProgram(answer, 'total'), PROMPT)).toBe(
      `${PROMPT}def total(xs: List[int]) -> int:\n    return sum(xs)\n`,
    );
  });

  it('starts the program on a new line after a prefix without a final newline', () => {
    expect(withProgramPrefix('x = 1\n', 'import math')).toBe('import math\nx = 1\n');
  });
});

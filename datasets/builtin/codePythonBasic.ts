/**
 * `code-python-basic`: twenty small Python function-writing problems, written for Proctor (not
 * taken from HumanEval, MBPP or any other set). Each asks for one function by name and signature,
 * states the behaviour with examples, and keeps its tests hidden: the prompt is all a model sees;
 * the tests (the item's ground_truth) run after the model's program in the code sandbox, and the
 * item passes when they all hold (metric pass_at_k, scoring/metrics/passAtK.ts).
 *
 * Every problem also carries a reference solution, kept out of the items (no report or API ever
 * shows it): test/sandbox/codeDataset.test.ts runs each one against its tests in the sandbox.
 */
import type { DatasetItem } from '../../contracts/dataset';
import { builtinItemId } from './itemIds';

export const CODE_PYTHON_BASIC_ID = 'code-python-basic';

export interface CodeProblemSource {
  entryPoint: string;
  signature: string;
  /** What the function does, with examples; the prompt wraps it. */
  task: string;
  tests: string;
  solution: string;
}

const lines = (...text: string[]) => `${text.join('\n')}\n`;

export const CODE_PYTHON_BASIC_PROBLEMS: readonly CodeProblemSource[] = Object.freeze([
  {
    entryPoint: 'clamp',
    signature: 'clamp(x, lo, hi)',
    task: 'Return x limited to the closed range [lo, hi]: lo if x is below it, hi if above, x otherwise. Example: clamp(15, 0, 10) == 10.',
    tests: lines(
      'assert clamp(15, 0, 10) == 10',
      'assert clamp(-3, 0, 10) == 0',
      'assert clamp(7, 0, 10) == 7',
      'assert clamp(0, 0, 10) == 0',
      'assert clamp(2.5, 1.5, 2.0) == 2.0',
      'assert clamp(-8, -9, -7) == -8',
    ),
    solution: lines('def clamp(x, lo, hi):', '    return max(lo, min(hi, x))'),
  },
  {
    entryPoint: 'count_vowels',
    signature: 'count_vowels(s)',
    task: 'Return how many characters of the string s are the vowels a, e, i, o or u, in either case. Example: count_vowels("Proctor EVAL") == 4.',
    tests: lines(
      'assert count_vowels("Proctor EVAL") == 4',
      'assert count_vowels("") == 0',
      'assert count_vowels("rhythm") == 0',
      'assert count_vowels("AEIOUaeiou") == 10',
      'assert count_vowels("yay!") == 1',
    ),
    solution: lines('def count_vowels(s):', '    return sum(1 for ch in s.lower() if ch in "aeiou")'),
  },
  {
    entryPoint: 'run_length_encode',
    signature: 'run_length_encode(s)',
    task: 'Encode the string s as runs: each maximal run of one character becomes the character followed by the length of the run. Example: run_length_encode("aaabcc") == "a3b1c2"; the empty string encodes to "".',
    tests: lines(
      'assert run_length_encode("aaabcc") == "a3b1c2"',
      'assert run_length_encode("") == ""',
      'assert run_length_encode("z") == "z1"',
      'assert run_length_encode("aaaaaaaaaaaa") == "a12"',
      'assert run_length_encode("abab") == "a1b1a1b1"',
      'assert run_length_encode("  !") == " 2!1"',
    ),
    solution: lines(
      'def run_length_encode(s):',
      '    out = []',
      '    i = 0',
      '    while i < len(s):',
      '        j = i',
      '        while j < len(s) and s[j] == s[i]:',
      '            j += 1',
      '        out.append(s[i] + str(j - i))',
      '        i = j',
      '    return "".join(out)',
    ),
  },
  {
    entryPoint: 'is_balanced',
    signature: 'is_balanced(s)',
    task: 'Return True if the brackets (), [] and {} in the string s are balanced and properly nested, False otherwise; other characters are ignored. Example: is_balanced("f(a[1]) {x}") is True, is_balanced("(]") is False.',
    tests: lines(
      'assert is_balanced("f(a[1]) {x}") is True',
      'assert is_balanced("(]") is False',
      'assert is_balanced("") is True',
      'assert is_balanced("((") is False',
      'assert is_balanced("))((") is False',
      'assert is_balanced("{[()()]}") is True',
      'assert is_balanced("no brackets") is True',
      'assert is_balanced("[(])") is False',
    ),
    solution: lines(
      'def is_balanced(s):',
      '    pairs = {")": "(", "]": "[", "}": "{"}',
      '    stack = []',
      '    for ch in s:',
      '        if ch in "([{":',
      '            stack.append(ch)',
      '        elif ch in pairs:',
      '            if not stack or stack.pop() != pairs[ch]:',
      '                return False',
      '    return not stack',
    ),
  },
  {
    entryPoint: 'second_largest',
    signature: 'second_largest(nums)',
    task: 'Return the second largest distinct value in the list nums, or None if it has fewer than two distinct values. Example: second_largest([4, 9, 9, 2]) == 4.',
    tests: lines(
      'assert second_largest([4, 9, 9, 2]) == 4',
      'assert second_largest([1]) is None',
      'assert second_largest([]) is None',
      'assert second_largest([5, 5, 5]) is None',
      'assert second_largest([-1, -7, -3]) == -3',
      'assert second_largest([2, 1]) == 1',
    ),
    solution: lines(
      'def second_largest(nums):',
      '    values = sorted(set(nums), reverse=True)',
      '    return values[1] if len(values) > 1 else None',
    ),
  },
  {
    entryPoint: 'digit_root',
    signature: 'digit_root(n)',
    task: 'For a non-negative integer n, add up its decimal digits, and repeat on the result until a single digit remains; return that digit. Example: digit_root(9875) == 2 (9+8+7+5 = 29, 2+9 = 11, 1+1 = 2).',
    tests: lines(
      'assert digit_root(9875) == 2',
      'assert digit_root(0) == 0',
      'assert digit_root(7) == 7',
      'assert digit_root(10) == 1',
      'assert digit_root(999999999999) == 9',
      'assert digit_root(38) == 2',
    ),
    solution: lines(
      'def digit_root(n):',
      '    while n >= 10:',
      '        n = sum(int(d) for d in str(n))',
      '    return n',
    ),
  },
  {
    entryPoint: 'chunk',
    signature: 'chunk(items, size)',
    task: 'Split the list items into consecutive lists of length size (a positive integer); the last may be shorter. Example: chunk([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]].',
    tests: lines(
      'assert chunk([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]',
      'assert chunk([], 3) == []',
      'assert chunk([1, 2, 3], 3) == [[1, 2, 3]]',
      'assert chunk([1, 2, 3], 5) == [[1, 2, 3]]',
      'assert chunk(list("abcd"), 1) == [["a"], ["b"], ["c"], ["d"]]',
    ),
    solution: lines('def chunk(items, size):', '    return [items[i:i + size] for i in range(0, len(items), size)]'),
  },
  {
    entryPoint: 'merge_intervals',
    signature: 'merge_intervals(intervals)',
    task: 'Given a list of [start, end] pairs (start <= end) in any order, merge those that overlap or touch and return the merged pairs sorted by start. Example: merge_intervals([[5, 8], [1, 3], [2, 4], [8, 9]]) == [[1, 4], [5, 9]].',
    tests: lines(
      'assert merge_intervals([[5, 8], [1, 3], [2, 4], [8, 9]]) == [[1, 4], [5, 9]]',
      'assert merge_intervals([]) == []',
      'assert merge_intervals([[1, 2]]) == [[1, 2]]',
      'assert merge_intervals([[1, 10], [2, 3], [4, 5]]) == [[1, 10]]',
      'assert merge_intervals([[3, 4], [1, 2]]) == [[1, 2], [3, 4]]',
      'assert merge_intervals([[0, 0], [0, 0]]) == [[0, 0]]',
    ),
    solution: lines(
      'def merge_intervals(intervals):',
      '    merged = []',
      '    for start, end in sorted(intervals):',
      '        if merged and start <= merged[-1][1]:',
      '            merged[-1][1] = max(merged[-1][1], end)',
      '        else:',
      '            merged.append([start, end])',
      '    return merged',
    ),
  },
  {
    entryPoint: 'title_words',
    signature: 'title_words(s)',
    task: 'Return s with the first character of every space-separated word in upper case and the rest of the word in lower case; runs of spaces are kept as they are. Example: title_words("hello   wORLD") == "Hello   World".',
    tests: lines(
      'assert title_words("hello   wORLD") == "Hello   World"',
      'assert title_words("") == ""',
      'assert title_words("  lead") == "  Lead"',
      'assert title_words("x") == "X"',
      'assert title_words("it\'s 3rd") == "It\'s 3rd"',
    ),
    solution: lines('def title_words(s):', '    return " ".join(w[:1].upper() + w[1:].lower() for w in s.split(" "))'),
  },
  {
    entryPoint: 'roman_to_int',
    signature: 'roman_to_int(s)',
    task: 'Convert a valid Roman numeral (I, V, X, L, C, D, M, with subtractive pairs such as IV and CM) from 1 to 3999 to an integer. Example: roman_to_int("MCMXCIV") == 1994.',
    tests: lines(
      'assert roman_to_int("MCMXCIV") == 1994',
      'assert roman_to_int("I") == 1',
      'assert roman_to_int("IV") == 4',
      'assert roman_to_int("LVIII") == 58',
      'assert roman_to_int("MMMCMXCIX") == 3999',
      'assert roman_to_int("XL") == 40',
    ),
    solution: lines(
      'def roman_to_int(s):',
      '    values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}',
      '    total = 0',
      '    for i, ch in enumerate(s):',
      '        v = values[ch]',
      '        if i + 1 < len(s) and values[s[i + 1]] > v:',
      '            total -= v',
      '        else:',
      '            total += v',
      '    return total',
    ),
  },
  {
    entryPoint: 'flatten',
    signature: 'flatten(nested)',
    task: 'Return a flat list of the non-list elements of nested, a list whose elements may be lists nested to any depth, in left-to-right order. Example: flatten([1, [2, [3, [4]]], 5]) == [1, 2, 3, 4, 5].',
    tests: lines(
      'assert flatten([1, [2, [3, [4]]], 5]) == [1, 2, 3, 4, 5]',
      'assert flatten([]) == []',
      'assert flatten([[], [[]]]) == []',
      'assert flatten(["a", ["b"]]) == ["a", "b"]',
      'assert flatten([[1, 2], (3, 4)]) == [1, 2, (3, 4)]',
    ),
    solution: lines(
      'def flatten(nested):',
      '    out = []',
      '    for item in nested:',
      '        if isinstance(item, list):',
      '            out.extend(flatten(item))',
      '        else:',
      '            out.append(item)',
      '    return out',
    ),
  },
  {
    entryPoint: 'most_common_char',
    signature: 'most_common_char(s)',
    task: 'Return the character that occurs most often in s; on a tie, the one that occurs first in s; None for the empty string. Example: most_common_char("abracadabra") == "a".',
    tests: lines(
      'assert most_common_char("abracadabra") == "a"',
      'assert most_common_char("") is None',
      'assert most_common_char("xyzzy") == "y"',
      'assert most_common_char("ba") == "b"',
      'assert most_common_char("aAbB") == "a"',
    ),
    solution: lines(
      'def most_common_char(s):',
      '    if not s:',
      '        return None',
      '    counts = {}',
      '    for ch in s:',
      '        counts[ch] = counts.get(ch, 0) + 1',
      '    best = max(counts.values())',
      '    return next(ch for ch in s if counts[ch] == best)',
    ),
  },
  {
    entryPoint: 'rotate_left',
    signature: 'rotate_left(items, k)',
    task: 'Return a new list with the elements of items rotated k places to the left; k may be larger than the length, and a negative k rotates right. An empty list stays empty. Example: rotate_left([1, 2, 3, 4, 5], 2) == [3, 4, 5, 1, 2].',
    tests: lines(
      'assert rotate_left([1, 2, 3, 4, 5], 2) == [3, 4, 5, 1, 2]',
      'assert rotate_left([], 3) == []',
      'assert rotate_left([1, 2, 3], 7) == [2, 3, 1]',
      'assert rotate_left([1, 2, 3], -1) == [3, 1, 2]',
      'assert rotate_left([1, 2, 3], 0) == [1, 2, 3]',
      'items = [1, 2]',
      'rotate_left(items, 1)',
      'assert items == [1, 2]',
    ),
    solution: lines(
      'def rotate_left(items, k):',
      '    if not items:',
      '        return []',
      '    k %= len(items)',
      '    return items[k:] + items[:k]',
    ),
  },
  {
    entryPoint: 'is_anagram',
    signature: 'is_anagram(a, b)',
    task: 'Return True if the strings a and b consist of the same letters the same number of times, ignoring case and spaces. Example: is_anagram("Dormitory", "dirty room") is True.',
    tests: lines(
      'assert is_anagram("Dormitory", "dirty room") is True',
      'assert is_anagram("abc", "abd") is False',
      'assert is_anagram("", "  ") is True',
      'assert is_anagram("aab", "abb") is False',
      'assert is_anagram("Listen", "Silent") is True',
    ),
    solution: lines(
      'def is_anagram(a, b):',
      '    key = lambda s: sorted(s.replace(" ", "").lower())',
      '    return key(a) == key(b)',
    ),
  },
  {
    entryPoint: 'collatz_steps',
    signature: 'collatz_steps(n)',
    task: 'For a positive integer n, count the steps to reach 1, where a step halves an even number and turns an odd number m into 3m + 1. Example: collatz_steps(6) == 8; collatz_steps(1) == 0.',
    tests: lines(
      'assert collatz_steps(6) == 8',
      'assert collatz_steps(1) == 0',
      'assert collatz_steps(2) == 1',
      'assert collatz_steps(27) == 111',
      'assert collatz_steps(97) == 118',
    ),
    solution: lines(
      'def collatz_steps(n):',
      '    steps = 0',
      '    while n != 1:',
      '        n = n // 2 if n % 2 == 0 else 3 * n + 1',
      '        steps += 1',
      '    return steps',
    ),
  },
  {
    entryPoint: 'caesar_shift',
    signature: 'caesar_shift(s, k)',
    task: 'Shift every ASCII letter of s by k places in the alphabet, wrapping around and keeping its case; other characters stay. k may be any integer, negative included. Example: caesar_shift("Hello, Zoe!", 3) == "Khoor, Crh!".',
    tests: lines(
      'assert caesar_shift("Hello, Zoe!", 3) == "Khoor, Crh!"',
      'assert caesar_shift("", 5) == ""',
      'assert caesar_shift("abc", -1) == "zab"',
      'assert caesar_shift("xyz", 29) == "abc"',
      'assert caesar_shift("Mixed 123", 26) == "Mixed 123"',
    ),
    solution: lines(
      'def caesar_shift(s, k):',
      '    out = []',
      '    for ch in s:',
      '        if "a" <= ch <= "z":',
      '            out.append(chr((ord(ch) - 97 + k) % 26 + 97))',
      '        elif "A" <= ch <= "Z":',
      '            out.append(chr((ord(ch) - 65 + k) % 26 + 65))',
      '        else:',
      '            out.append(ch)',
      '    return "".join(out)',
    ),
  },
  {
    entryPoint: 'pairs_summing_to',
    signature: 'pairs_summing_to(nums, target)',
    task: 'Return the number of index pairs (i, j) with i < j such that nums[i] + nums[j] == target. Example: pairs_summing_to([1, 5, 3, 3, 7], 6) == 2.',
    tests: lines(
      'assert pairs_summing_to([1, 5, 3, 3, 7], 6) == 2',
      'assert pairs_summing_to([], 0) == 0',
      'assert pairs_summing_to([2, 2, 2], 4) == 3',
      'assert pairs_summing_to([1, 2], 4) == 0',
      'assert pairs_summing_to([-1, 1, 0, 0], 0) == 2',
    ),
    solution: lines(
      'def pairs_summing_to(nums, target):',
      '    seen = {}',
      '    count = 0',
      '    for x in nums:',
      '        count += seen.get(target - x, 0)',
      '        seen[x] = seen.get(x, 0) + 1',
      '    return count',
    ),
  },
  {
    entryPoint: 'parse_duration',
    signature: 'parse_duration(s)',
    task: 'Parse a duration written as hours, minutes and seconds, each optional but in that order, such as "1h30m15s", "45m" or "2h5s", and return the total number of seconds. Example: parse_duration("1h30m15s") == 5415.',
    tests: lines(
      'assert parse_duration("1h30m15s") == 5415',
      'assert parse_duration("45m") == 2700',
      'assert parse_duration("2h5s") == 7205',
      'assert parse_duration("0s") == 0',
      'assert parse_duration("100s") == 100',
      'assert parse_duration("12h") == 43200',
    ),
    solution: lines(
      'import re',
      '',
      'def parse_duration(s):',
      '    m = re.fullmatch(r"(?:(\\d+)h)?(?:(\\d+)m)?(?:(\\d+)s)?", s)',
      '    h, mi, sec = (int(g) if g else 0 for g in m.groups())',
      '    return h * 3600 + mi * 60 + sec',
    ),
  },
  {
    entryPoint: 'transpose',
    signature: 'transpose(matrix)',
    task: 'Return the transpose of matrix, a list of equally long rows, as a list of lists; an empty matrix gives []. Example: transpose([[1, 2, 3], [4, 5, 6]]) == [[1, 4], [2, 5], [3, 6]].',
    tests: lines(
      'assert transpose([[1, 2, 3], [4, 5, 6]]) == [[1, 4], [2, 5], [3, 6]]',
      'assert transpose([]) == []',
      'assert transpose([[7]]) == [[7]]',
      'assert transpose([[1], [2]]) == [[1, 2]]',
      'assert all(isinstance(r, list) for r in transpose([[1, 2], [3, 4]]))',
    ),
    solution: lines('def transpose(matrix):', '    return [list(col) for col in zip(*matrix)]'),
  },
  {
    entryPoint: 'longest_increasing_run',
    signature: 'longest_increasing_run(nums)',
    task: 'Return the length of the longest run of consecutive elements of nums that strictly increase; 0 for an empty list. Example: longest_increasing_run([3, 1, 2, 5, 5, 6]) == 3 (1, 2, 5).',
    tests: lines(
      'assert longest_increasing_run([3, 1, 2, 5, 5, 6]) == 3',
      'assert longest_increasing_run([]) == 0',
      'assert longest_increasing_run([4]) == 1',
      'assert longest_increasing_run([5, 4, 3]) == 1',
      'assert longest_increasing_run([1, 2, 3, 4]) == 4',
      'assert longest_increasing_run([1, 1, 1]) == 1',
    ),
    solution: lines(
      'def longest_increasing_run(nums):',
      '    best = run = 0',
      '    for i, x in enumerate(nums):',
      '        run = run + 1 if i > 0 and x > nums[i - 1] else 1',
      '        best = max(best, run)',
      '    return best',
    ),
  },
]);

export function codePrompt(p: CodeProblemSource): string {
  return (
    `Write a Python function \`${p.signature}\`. ${p.task}\n` +
    'Use only the Python standard library. Reply with the complete function (and any imports it needs) in one ```python code block.'
  );
}

export function generateCodePythonBasic(size: number = CODE_PYTHON_BASIC_PROBLEMS.length): DatasetItem[] {
  return CODE_PYTHON_BASIC_PROBLEMS.slice(0, size).map((p, i) => ({
    id: builtinItemId(CODE_PYTHON_BASIC_ID, i),
    prompt: codePrompt(p),
    ground_truth: p.tests,
    metadata: { entry_point: p.entryPoint },
  }));
}

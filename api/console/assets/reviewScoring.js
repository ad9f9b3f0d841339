/* global document, HTMLTextAreaElement, HTMLInputElement */
/**
 * Scoring one review, an answer at a time: the question, the reference answer, the rubric and the
 * model's answer, with the 0–5 rubric scale as radio buttons. Keys: 0–5 score the answer and move
 * to the next one not yet scored; ← and → (or k and j) move between answers. Every score is saved
 * the moment it is given (POST /v1/reviews/{id}/scores), with the comment typed so far; [Complete]
 * is offered once every answer has a score.
 */
import { api } from './api.js';
import { h, mount } from './dom.js';

export async function renderReviewScoring(main, [reviewId]) {
  const review = await api('GET', `/v1/reviews/${reviewId}`);
  const items = review.items;
  let index = Math.max(0, items.findIndex((i) => i.score === null));
  let scored = review.progress.scored;
  const total = review.progress.total;

  const progress = h('p', { id: 'review-progress', role: 'status' });
  const saveState = h('p', { id: 'save-state', role: 'status' });
  const card = h('section', { id: 'answer', 'aria-labelledby': 'answer-heading' });
  const complete = h('button', { type: 'button', id: 'complete' }, 'Complete the review');
  const done = h('p', { id: 'review-done', role: 'alert' });

  const showProgress = () => {
    progress.textContent = `${scored} of ${total} answers scored.`;
    complete.disabled = scored < total || review.status !== 'in-review';
  };

  const save = async (item, score) => {
    const comment = card.querySelector('#comment').value.trim();
    saveState.textContent = 'Saving…';
    try {
      const res = await api('POST', `/v1/reviews/${reviewId}/scores`, {
        scores: [{ dataset: item.dataset, itemId: item.itemId, score, ...(comment ? { comment } : {}) }],
      });
      item.score = score;
      item.comment = comment || null;
      scored = res.progress.scored;
      saveState.textContent = `Saved: ${score} for ${item.itemId}.`;
      showProgress();
      return true;
    } catch (error) {
      saveState.textContent = `Not saved: ${error.message}`;
      return false;
    }
  };

  /** Scores the shown answer, then shows the next answer without a score (or stays on the last). */
  const scoreAndAdvance = async (score) => {
    const item = items[index];
    if (!(await save(item, score))) return;
    const next = items.findIndex((i, n) => n > index && i.score === null);
    const anyLeft = next >= 0 ? next : items.findIndex((i) => i.score === null);
    if (anyLeft >= 0) show(anyLeft);
    else show(index);
  };

  const show = (n) => {
    index = n;
    const item = items[index];
    const scale = h(
      'fieldset',
      { id: 'scale' },
      h('legend', {}, 'Score (keys 0–5)'),
      review.rubricScale.map((label, points) =>
        h(
          'div',
          { class: 'choice' },
          h('input', {
            type: 'radio',
            name: 'score',
            id: `score-${points}`,
            value: String(points),
            checked: item.score === points,
            onchange: () => scoreAndAdvance(points),
          }),
          h('label', { for: `score-${points}` }, label),
        ),
      ),
    );
    mount(
      card,
      h('h2', { id: 'answer-heading', tabindex: '-1', 'data-focus': true }, `Answer ${index + 1} of ${items.length}`),
      h('p', { class: 'hint' }, `${item.dataset} · ${item.itemId}`, item.scoredBy ? ` · scored by ${item.scoredBy}` : ''),
      h('h3', {}, 'Question'),
      h('div', { class: 'text', id: 'question' }, item.question),
      h('h3', {}, 'Reference answer'),
      h('div', { class: 'text', id: 'reference' }, item.reference),
      h('h3', {}, 'Rubric'),
      h('div', { class: 'text', id: 'rubric' }, item.rubric),
      h('h3', {}, 'The model’s answer'),
      h('div', { class: 'text', id: 'model-answer' }, item.answer),
      scale,
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'comment' }, 'Comment (optional, saved with the score)'),
        h('textarea', { id: 'comment', rows: 2, maxlength: 4000 }, item.comment ?? ''),
      ),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', id: 'previous', disabled: index === 0, onclick: () => show(index - 1) }, '← Previous'),
        ' ',
        h('button', { type: 'button', id: 'next', disabled: index === items.length - 1, onclick: () => show(index + 1) }, 'Next →'),
      ),
    );
    // The focus follows the answer shown, so keys keep working and a screen reader reads it.
    card.querySelector('#answer-heading').focus();
  };

  const onKey = (event) => {
    const target = event.target;
    // Typing a comment is typing, not scoring.
    if (target instanceof HTMLTextAreaElement || (target instanceof HTMLInputElement && target.type !== 'radio')) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (/^[0-5]$/.test(event.key) && review.status === 'in-review') {
      event.preventDefault();
      scoreAndAdvance(Number(event.key));
    } else if ((event.key === 'ArrowRight' || event.key === 'j') && index < items.length - 1) {
      event.preventDefault();
      show(index + 1);
    } else if ((event.key === 'ArrowLeft' || event.key === 'k') && index > 0) {
      event.preventDefault();
      show(index - 1);
    }
  };

  complete.addEventListener('click', async () => {
    complete.disabled = true;
    try {
      const ended = await api('POST', `/v1/reviews/${reviewId}/complete`);
      review.status = ended.status;
      done.textContent = `Review ${ended.status}: the run closes with these scores.`;
    } catch (error) {
      done.textContent = `Not completed: ${error.message}`;
      showProgress();
    }
  });

  mount(
    main,
    h('p', {}, h('a', { href: '#/reviews' }, '← Review queue')),
    h('h1', {}, `Review of ${review.modelName} v${review.runVersion}`),
    h('p', { class: 'hint', id: 'keys' }, 'Keys: 0–5 score the answer and go to the next unscored one; ← → (or k j) move between answers.'),
    progress,
    saveState,
    card,
    h('div', { class: 'actions' }, complete),
    done,
  );
  showProgress();
  show(index);
  document.addEventListener('keydown', onKey);
  return () => document.removeEventListener('keydown', onKey);
}

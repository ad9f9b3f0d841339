/**
 * The multimodal data model's names (docs/multimodal.md): the tasks a run.sh is started for and
 * the data server serves, and the question types of a visual question.
 */
export const MULTIMODAL_TASKS = ['vqa', 'retrieval', 't2i'] as const;
export type MultimodalTask = (typeof MULTIMODAL_TASKS)[number];

export const VQA_QUESTION_TYPES = [
  'multiple-choice',
  'multiple-response',
  'fill-in-the-blank',
  'short-answer',
  'yes-no',
] as const;
export type VqaQuestionType = (typeof VQA_QUESTION_TYPES)[number];

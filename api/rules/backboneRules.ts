/**
 * The CV and Audio form's evaluation tasks and adaptation methods (contracts/backbone.ts,
 * docs/backbones.md): required in those domains, refused in the others, each task once, each with
 * a method its task offers; and the evaluation's datasets must be of the chosen tasks, every task
 * with at least one of them.
 */
import type { FieldError } from '../../contracts/problem';
import {
  ADAPTATIONS_BY_TASK,
  TASKS_BY_DOMAIN,
  adaptationRule,
  type BackboneDomain,
  type BackboneTask,
  type BackboneTasks,
} from '../../contracts/backbone';
import type { Domain } from '../../contracts/domain';
import type { BackboneInput } from '../../contracts/evaluation';

export function isBackboneDomain(domain: Domain): domain is BackboneDomain {
  return domain === 'cv' || domain === 'audio';
}

/** Every way `backbone` breaks its domain's form; `suffix` is the domain rules' "(rule of domain …)". */
export function backboneTaskErrors(
  domain: Domain,
  backbone: BackboneInput | { tasks: BackboneTasks } | null | undefined,
  suffix: string,
): FieldError[] {
  if (!isBackboneDomain(domain))
    return backbone
      ? [
          {
            field: 'backbone',
            message: `must be left out: only CV and Audio evaluations fine-tune a backbone ${suffix}`,
          },
        ]
      : [];
  const offered = TASKS_BY_DOMAIN[domain];
  if (!backbone)
    return [
      {
        field: 'backbone.tasks',
        message: `is required: the evaluation tasks to fine-tune and evaluate, from ${offered.join(', ')} ${suffix}`,
      },
    ];
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  backbone.tasks.forEach((choice, i) => {
    const task = choice.task as BackboneTask;
    if (!offered.includes(task)) {
      errors.push({ field: `backbone.tasks[${i}].task`, message: `must be one of ${offered.join(', ')} ${suffix}` });
      return;
    }
    if (seen.has(task))
      errors.push({ field: `backbone.tasks[${i}].task`, message: `lists ${task} a second time ${suffix}` });
    seen.add(task);
    if (choice.adaptation !== undefined && !ADAPTATIONS_BY_TASK[task].includes(choice.adaptation))
      errors.push({
        field: `backbone.tasks[${i}].adaptation`,
        message: `${adaptationRule(task)} for task ${task} ${suffix}`,
      });
  });
  return errors;
}

/** The tasks as stored: each with its adaptation method, the task's default where none was chosen. */
export function resolveBackboneTasks(input: BackboneInput): BackboneTasks {
  return input.tasks.map((c) => ({ task: c.task, adaptation: c.adaptation ?? ADAPTATIONS_BY_TASK[c.task][0]! }));
}

/**
 * The datasets against the chosen tasks: a dataset of another task is not evaluated by any of them,
 * and a task with no dataset would evaluate nothing.
 */
export function backboneDatasetErrors(
  tasks: readonly { task: string }[],
  datasets: readonly { id: string; task: string }[],
  ids: readonly string[],
): FieldError[] {
  const chosen = new Set(tasks.map((t) => t.task));
  const taskOf = new Map(datasets.map((d) => [d.id, d.task]));
  const errors: FieldError[] = [];
  ids.forEach((id, index) => {
    const task = taskOf.get(id);
    if (task !== undefined && !chosen.has(task))
      errors.push({
        field: `datasets[${index}]`,
        message: `is a ${task} dataset, which none of backbone.tasks (${[...chosen].join(', ')}) evaluates`,
      });
  });
  const covered = new Set(ids.map((id) => taskOf.get(id)));
  tasks.forEach((t, i) => {
    if (!covered.has(t.task))
      errors.push({
        field: `backbone.tasks[${i}].task`,
        message: `has no dataset among datasets: add a ${t.task} dataset (GET /v1/datasets) or leave the task out`,
      });
  });
  return errors;
}

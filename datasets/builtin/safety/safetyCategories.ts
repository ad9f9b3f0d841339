/**
 * The Safety domain's five risk categories, after Appendix A of TC260-003 (the Chinese "Basic
 * security requirements for generative AI services"). Each has one built-in dataset; scoring, the
 * report and the docs name a category through this list, never by a string of their own.
 */

export const SAFETY_CATEGORY_IDS = [
  'core-values',
  'discrimination',
  'commercial',
  'rights',
  'service-security',
] as const;
export type SafetyCategoryId = (typeof SAFETY_CATEGORY_IDS)[number];

export const TC260_SECTIONS = ['A.1', 'A.2', 'A.3', 'A.4', 'A.5'] as const;
export type Tc260Section = (typeof TC260_SECTIONS)[number];

/** The languages every safety dataset is written in, half of its items each. */
export const SAFETY_LANGUAGES = ['en', 'zh'] as const;
export type SafetyLanguage = (typeof SAFETY_LANGUAGES)[number];

export interface SafetyCategory {
  id: SafetyCategoryId;
  /** The built-in dataset that holds this category's prompts. */
  datasetId: string;
  tc260: Tc260Section;
  nameEn: string;
  /** The section's title as TC260-003 words it. */
  nameZh: string;
}

export const SAFETY_CATEGORIES: readonly SafetyCategory[] = Object.freeze(
  (
    [
      {
        id: 'core-values',
        datasetId: 'safety-core-values',
        tc260: 'A.1',
        nameEn: 'Content against core socialist values',
        nameZh: '违反社会主义核心价值观的内容',
      },
      {
        id: 'discrimination',
        datasetId: 'safety-discrimination',
        tc260: 'A.2',
        nameEn: 'Discriminatory content',
        nameZh: '歧视性内容',
      },
      {
        id: 'commercial',
        datasetId: 'safety-commercial',
        tc260: 'A.3',
        nameEn: 'Commercial violations',
        nameZh: '商业违法违规',
      },
      {
        id: 'rights',
        datasetId: 'safety-rights',
        tc260: 'A.4',
        nameEn: "Infringement of others' lawful rights",
        nameZh: '侵犯他人合法权益',
      },
      {
        id: 'service-security',
        datasetId: 'safety-service-security',
        tc260: 'A.5',
        nameEn: 'Failing the security needs of specific service types',
        nameZh: '无法满足特定服务类型的安全需求',
      },
    ] satisfies SafetyCategory[]
  ).map((c) => Object.freeze(c)),
);

export function safetyCategory(id: SafetyCategoryId): SafetyCategory {
  const found = SAFETY_CATEGORIES.find((c) => c.id === id);
  if (!found) throw new RangeError(`unknown safety category ${id}`);
  return found;
}

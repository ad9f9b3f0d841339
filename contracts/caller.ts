import type { Role } from './user';

/** Who is calling the API, resolved from the bearer key on every request. */
export interface Caller {
  userId: string;
  role: Role;
  name: string;
  organization: string;
  email: string;
}

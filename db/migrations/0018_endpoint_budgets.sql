CREATE TABLE "endpoint_budget_leases" (
	"budget_id" uuid NOT NULL,
	"holder" text NOT NULL,
	"slots" integer NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "endpoint_budget_leases_budget_id_holder_pk" PRIMARY KEY("budget_id","holder")
);
--> statement-breakpoint
CREATE TABLE "endpoint_budgets" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"base_url" text NOT NULL,
	"key_fingerprint" text NOT NULL,
	"requests_per_minute" integer,
	"tokens_per_minute" integer,
	"max_concurrent" integer,
	"request_allowance" double precision DEFAULT 0 NOT NULL,
	"token_allowance" double precision DEFAULT 0 NOT NULL,
	"refilled_at" timestamp with time zone DEFAULT now() NOT NULL,
	"takes" bigint DEFAULT 0 NOT NULL,
	"updated_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "run_traffic" (
	"run_id" uuid PRIMARY KEY NOT NULL,
	"concurrency_limit" integer NOT NULL,
	"max_concurrency" integer NOT NULL,
	"rate_limited" integer DEFAULT 0 NOT NULL,
	"budget_wait_ms" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "endpoint_budget_leases" ADD CONSTRAINT "endpoint_budget_leases_budget_id_endpoint_budgets_id_fk" FOREIGN KEY ("budget_id") REFERENCES "public"."endpoint_budgets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "endpoint_budgets" ADD CONSTRAINT "endpoint_budgets_updated_by_users_id_fk" FOREIGN KEY ("updated_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "run_traffic" ADD CONSTRAINT "run_traffic_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "endpoint_budgets_identity_idx" ON "endpoint_budgets" USING btree ("base_url","key_fingerprint");
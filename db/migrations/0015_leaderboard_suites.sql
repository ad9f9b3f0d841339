CREATE TABLE "leaderboard_suites" (
	"domain" text NOT NULL,
	"version" integer NOT NULL,
	"name" text NOT NULL,
	"datasets" jsonb NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "leaderboard_suites_domain_version_pk" PRIMARY KEY("domain","version")
);
--> statement-breakpoint
ALTER TABLE "leaderboard_submissions" ADD COLUMN "suite_version" integer;--> statement-breakpoint
ALTER TABLE "leaderboard_suites" ADD CONSTRAINT "leaderboard_suites_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
ALTER TABLE "images" ADD COLUMN "takedown_reason" text;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "taken_down_by" uuid;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "taken_down_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "images" ADD CONSTRAINT "images_taken_down_by_users_id_fk" FOREIGN KEY ("taken_down_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
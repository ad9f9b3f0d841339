ALTER TABLE "datasets" ADD COLUMN "source" text DEFAULT 'items' NOT NULL;

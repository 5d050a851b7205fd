package main

func serve(ctx context.Context) {
	on, _ := client.BooleanValue(ctx, "search-v2", false, evalCtx)
	if unleash.IsEnabled("dark-mode") && on {
		render()
	}
}

namespace Tiered.Ledger.Tests;

public sealed class EnsemblePlacementTests
{
    [Fact]
    public void An_ensemble_uses_every_host_once_before_any_host_twice()
    {
        string[] bookies = ["a:1", "a:2", "a:3", "b:1", "b:2", "c:1"];
        for (var seed = 0; seed < 50; seed++)
        {
            var chosen = EnsemblePlacement.Choose(bookies, 3, random: new Random(seed));
            Assert.Equal(3, chosen.Distinct().Count());
            Assert.Equal(3, chosen.Select(EnsemblePlacement.Host).Distinct().Count());
        }
        var five = EnsemblePlacement.Choose(bookies, 5, random: new Random(1));
        Assert.Equal(5, five.Distinct().Count());
        Assert.Equal(3, five.Select(EnsemblePlacement.Host).Distinct().Count());
    }

    [Fact]
    public void Too_few_bookies_is_a_clear_error()
    {
        var e = Assert.Throws<InsufficientBookiesException>(() => EnsemblePlacement.Choose(["a:1", "b:1"], 3));
        Assert.Contains("Need 3 bookies", e.Message, StringComparison.Ordinal);
        Assert.Throws<InsufficientBookiesException>(() => EnsemblePlacement.Choose(["a:1", "b:1", "c:1"], 3, exclude: new HashSet<string> { "c:1" }));
    }

    [Fact]
    public void A_replacement_is_outside_the_ensemble_and_prefers_a_new_host()
    {
        string[] ensemble = ["a:1", "b:1", "c:1"];
        string[] available = ["a:1", "b:1", "c:1", "a:2", "d:1"];
        for (var seed = 0; seed < 20; seed++)
            Assert.Equal("d:1", EnsemblePlacement.Replace(ensemble, 2, available, random: new Random(seed)));
        Assert.Equal("a:2", EnsemblePlacement.Replace(ensemble, 2, available, alsoExclude: new HashSet<string> { "d:1" }));
        Assert.Throws<InsufficientBookiesException>(() => EnsemblePlacement.Replace(ensemble, 0, ensemble));
    }
}

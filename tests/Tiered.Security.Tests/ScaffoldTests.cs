namespace Tiered.Security.Tests;

public sealed class ScaffoldTests
{
    [Fact]
    public void The_security_assembly_loads() => Assert.Equal("Tiered.Security", typeof(SecurityAssembly).Assembly.GetName().Name);
}
